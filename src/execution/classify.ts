import { ERROR_CODES, FragmentError, TributaryError, type ErrorCode } from '../errors.js';
import { defaultIsRetryable, type SourceExecutor } from '../sources/source.js';
import { hadNoEffect } from './retry-safety.js';
import { describeThrown, isInstance, readField } from './thrown.js';

/**
 * The one retry classification of a failed source call, used in process (the fragment
 * pipeline) and on a remote worker (whose verdict travels back in the job's failure).
 */
export interface Classification {
  /** A TributaryError's own code; else SOURCE_UNAVAILABLE when retryable, FRAGMENT_FAILED when not. */
  code: ErrorCode;
  retryable: boolean;
  message: string;
  /** The driver's code (SQLSTATE, errno, HTTP status), when the error carries one. */
  driverCode?: string;
  /** How long the source asked to be left alone (an HTTP `Retry-After`). */
  retryAfterMs?: number;
  /** Present when the call had no effect on the server (see `hadNoEffect`): even a write may be retried. */
  noEffect?: true;
}

/**
 * Classifies what a source threw: a TIMEOUT is always worth another try; otherwise the
 * source's own `isRetryable` decides (the port's `defaultIsRetryable` when it has none), and
 * a classifier that throws counts as "not retryable". It never throws itself: whatever was
 * thrown (a Proxy, a getter that throws, null, a string) is read through `thrown.ts`.
 */
export function classifyError(error: unknown, source: SourceExecutor | undefined): Classification {
  const own = tributaryCode(error);
  const retryable = own === 'TIMEOUT' ? true : safeIsRetryable(source, error);
  const code = own ?? (retryable ? 'SOURCE_UNAVAILABLE' : 'FRAGMENT_FAILED');
  const driverCode = driverCodeOf(error);
  const retryAfterMs = retryAfterOf(error);
  return {
    code,
    retryable,
    message: describeThrown(error),
    ...(hadNoEffect(error) ? { noEffect: true as const } : {}),
    ...(driverCode === undefined ? {} : { driverCode }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}

/** What the pipeline knows about the fragment whose call failed. */
export interface FailureContext {
  fragmentId: string;
  sourceName: string;
  source: SourceExecutor;
  attempt: number;
}

/**
 * Turns whatever a source threw into a `FragmentError` (`classifyError` decides its code and
 * `retryable`); a `FragmentError` passes through unchanged.
 */
export function toFragmentError(error: unknown, ctx: FailureContext): FragmentError {
  if (isInstance(error, FragmentError) && readable(error)) return error;
  const c = classifyError(error, ctx.source);
  const issues = isInstance(error, TributaryError) ? readField(error, 'issues') : undefined;
  return new FragmentError(c.code, `fragment "${ctx.fragmentId}" on source "${ctx.sourceName}" failed (attempt ${ctx.attempt}): ${c.message}`, {
    fragmentId: ctx.fragmentId,
    source: ctx.sourceName,
    attempt: ctx.attempt,
    retryable: c.retryable,
    cause: error,
    driverCode: c.driverCode,
    retryAfterMs: c.retryAfterMs,
    noEffect: c.noEffect,
    issues: Array.isArray(issues) && issues.length > 0 ? (issues as TributaryError['issues']) : undefined,
  });
}

/** A FragmentError the pipeline can read as it is (not a Proxy or subclass whose getters throw). */
function readable(error: FragmentError): boolean {
  try {
    const { code, message, retryable, attempt, retryAfterMs, driverCode } = error;
    return typeof code === 'string' && typeof message === 'string' && typeof retryable === 'boolean' && typeof attempt === 'number' && (retryAfterMs === undefined || typeof retryAfterMs === 'number') && (driverCode === undefined || typeof driverCode === 'string');
  } catch {
    return false;
  }
}

function safeIsRetryable(source: SourceExecutor | undefined, error: unknown): boolean {
  try {
    return source?.isRetryable ? source.isRetryable(error) : defaultIsRetryable(error);
  } catch {
    return false;
  }
}

/** A TributaryError's own code, when it has a readable one. */
function tributaryCode(error: unknown): ErrorCode | undefined {
  if (!isInstance(error, TributaryError)) return undefined;
  const code = readField(error, 'code');
  return typeof code === 'string' && code in ERROR_CODES ? (code as ErrorCode) : undefined;
}

function driverCodeOf(error: unknown): string | undefined {
  if (isInstance(error, TributaryError)) {
    const own = readField(error, 'driverCode');
    return typeof own === 'string' ? own : undefined;
  }
  const code = readField(error, 'code');
  if (typeof code === 'string' || typeof code === 'number') return String(code);
  const errno = readField(error, 'errno');
  if (typeof errno === 'number') return String(errno);
  return undefined;
}

function retryAfterOf(error: unknown): number | undefined {
  const retryAfterMs = readField(error, 'retryAfterMs');
  return typeof retryAfterMs === 'number' ? retryAfterMs : undefined;
}
