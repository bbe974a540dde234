import { TributaryError } from '../../errors.js';
import { defaultIsRetryable } from '../source.js';

/**
 * The shape the SQL connectors' classification tables share (postgres/errors.ts,
 * mysql/errors.ts), and the one function that turns a driver error into a TributaryError.
 */

/** How one driver error code is treated. */
export interface ErrorRule {
  /** Whether the same statement may succeed if simply tried again. */
  retryable: boolean;
  /** The source itself cannot be used (connect, auth, shutdown): SOURCE_UNAVAILABLE. */
  unavailable?: boolean;
  /**
   * The server rolled the statement back and said so (a deadlock, a serialization failure, a
   * lock it could not get): it had no effect, so even a write may run again.
   */
  rolledBack?: true;
  /** One line: why this classification. */
  reason: string;
}

/** Node socket errors: the server is not there (yet) or the connection broke. */
export const NETWORK_ERROR_RULES: Readonly<Record<string, ErrorRule>> = {
  ECONNREFUSED: { retryable: true, unavailable: true, reason: 'nothing listens there (yet): the server may be restarting' },
  ECONNRESET: { retryable: true, unavailable: true, reason: 'the connection broke mid-call; a new one may work' },
  EPIPE: { retryable: true, unavailable: true, reason: 'wrote to a connection the server had closed' },
  ETIMEDOUT: { retryable: true, unavailable: true, reason: 'the network or server did not answer in time' },
  EHOSTUNREACH: { retryable: true, unavailable: true, reason: 'no route to the host right now' },
  ENETUNREACH: { retryable: true, unavailable: true, reason: 'the network is down right now' },
  EAI_AGAIN: { retryable: true, unavailable: true, reason: 'DNS lookup failed temporarily' },
  ENOTFOUND: { retryable: true, unavailable: true, reason: 'DNS has no such host (often a transient resolver failure)' },
};

/** Where the driver error happened: getting a connection, or running the statement. */
export type ErrorPhase = 'connect' | 'query';

/** The driver's error code (`code` or an AggregateError member's), if any. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, errors } = error as { code?: unknown; errors?: unknown };
  if (typeof code === 'string' && code !== '') return code;
  // Node's happy-eyeballs connect reports an AggregateError of per-address failures.
  if (Array.isArray(errors)) return errors.map(errorCode).find((c) => c !== undefined);
  return undefined;
}

const SERVER_LABELS: Readonly<Record<string, string>> = { postgres: 'PostgreSQL', mysql: 'MariaDB/MySQL' };

/**
 * Wraps a driver error as `PostgreSQL error 42P01: relation "x" does not exist` or
 * `MariaDB/MySQL unavailable: connect ECONNREFUSED …`; a TributaryError (a limit, a
 * cancel) passes through unchanged.
 */
export function toSourceError(
  error: unknown,
  info: {
    kind: string;
    source: string;
    phase: ErrorPhase;
    fragmentId?: string | undefined;
    driverCode: string | undefined;
    rule: ErrorRule | undefined;
  },
): unknown {
  if (error instanceof TributaryError) return error;
  if (!(error instanceof Error)) return error; // an abort reason is the caller's own value
  const { rule, driverCode, phase } = info;
  const unavailable = phase === 'connect' || rule?.unavailable === true;
  const retryable = rule?.retryable ?? (phase === 'connect' && defaultIsRetryable(error));
  // Only what the driver said, labelled: the pipeline puts the one prefix in front (the
  // fragment, the source's registered name, the attempt: execution/classify.ts).
  const label = SERVER_LABELS[info.kind] ?? info.kind;
  const what = unavailable ? `${label} unavailable` : `${label} error${driverCode === undefined ? '' : ` ${driverCode}`}`;
  const path = info.fragmentId === undefined ? 'source' : `fragments.${info.fragmentId}`;
  const message = `${what}: ${error.message}`;
  return new TributaryError(unavailable ? 'SOURCE_UNAVAILABLE' : 'FRAGMENT_FAILED', message, {
    cause: error,
    retryable,
    // No connection (never sent) or rolled back by the server: even a write may be retried.
    ...(phase === 'connect' || rule?.rolledBack === true ? { noEffect: true } : {}),
    ...(driverCode === undefined ? {} : { driverCode }),
    issues: [{ path, message }],
  });
}

/** `isRetryable` for a SQL source: a TributaryError's own flag, else the rule, else the default. */
export function retryableBy(ruleOf: (error: unknown) => ErrorRule | undefined): (error: unknown) => boolean {
  return (error) => {
    if (error instanceof TributaryError && error.retryable !== undefined) return error.retryable;
    if (error instanceof TributaryError && error.cause !== undefined) return retryableBy(ruleOf)(error.cause);
    return ruleOf(error)?.retryable ?? defaultIsRetryable(error);
  };
}
