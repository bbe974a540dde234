/**
 * Every error tributary raises is a `TributaryError` with a `code` from one list, the
 * `issues` that say where (a JSON-ish path and a message each) and the `cause`.
 */

/** Every error code, with the one-line meaning the README repeats. */
export const ERROR_CODES = {
  PLAN_INVALID: 'The plan failed its schema or graph checks; nothing ran.',
  CONFIG_INVALID: 'Executor, source or command-line configuration failed validation.',
  SOURCE_UNKNOWN: 'A fragment names a source that is not registered.',
  CANCELLED: 'The run was cancelled (run.cancel, the caller\'s AbortSignal, executor.close).',
  TIMEOUT: 'An attempt or the fragment\'s overall deadline ran out.',
  LIMIT_EXCEEDED: 'A row, byte or plan-size limit was exceeded.',
  QUOTA_EXCEEDED: 'A per-principal quota (running queries, fragments a minute) was exceeded.',
  SOURCE_BAD_RESPONSE: 'A source answered with something that is not rows (bad JSON, wrong shape).',
  SOURCE_UNAVAILABLE: 'A source could not be reached, or its circuit is open.',
  RETRY_BUDGET_EXHAUSTED: 'The source\'s retry budget is empty, so the failure was not retried.',
  FRAGMENT_FAILED: 'The source rejected the fragment\'s query (syntax, permission, unknown table, ...).',
  MERGE_FAILED: 'The merge tree could not be evaluated over the fragment results.',
  CLOSED: 'The executor is closed and accepts no more work.',
  FORBIDDEN: 'The executor\'s authorize rule refused a fragment to the principal; nothing ran.',
  RUN_UNKNOWN: 'No stored run has this id (never stored, finished and removed, or expired).',
  RUN_LEASED: 'The stored run is held by another executor (its lease has not expired), so it was not resumed.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The list of codes, for `switch` exhaustiveness and documentation. */
export const errorCodes = Object.keys(ERROR_CODES) as ErrorCode[];

/** Where a problem is (`fragments[2].dependsOn[0]`) and what it is. */
export interface ErrorIssue {
  path: string;
  message: string;
}

export interface TributaryErrorOptions {
  issues?: ErrorIssue[];
  cause?: unknown;
  /** Whether trying again may succeed; set by connectors that classify driver errors. */
  retryable?: boolean;
  /** The driver's own code (SQLSTATE, MariaDB errno, HTTP status), kept for the caller. */
  driverCode?: string;
  /** A server's request to wait before trying again (HTTP Retry-After), in ms. */
  retryAfterMs?: number;
  /**
   * True when the call had no effect on the server: it never reached it (could not connect,
   * no pooled connection, shed by a lane), the server refused it (HTTP 408, 429), or the
   * database rolled it back (a deadlock, a serialization failure). Even a write may then be
   * tried again (see execution/retry-safety.ts). False: the call may have run, whatever its
   * causes say (an HTTP POST answered 303, whose GET then could not connect).
   */
  noEffect?: boolean;
}

/** The one error type of tributary. */
export class TributaryError extends Error {
  override name = 'TributaryError';
  readonly code: ErrorCode;
  readonly issues: ErrorIssue[];
  readonly retryable: boolean | undefined;
  readonly driverCode: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly noEffect: boolean | undefined;

  constructor(code: ErrorCode, message: string, options: TributaryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.issues = options.issues ?? [];
    this.retryable = options.retryable;
    this.driverCode = options.driverCode;
    this.retryAfterMs = options.retryAfterMs;
    this.noEffect = options.noEffect;
  }

  /** A plain object for logs and JSON output (Error's own fields are not enumerable). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      issues: this.issues,
      ...(this.driverCode === undefined ? {} : { driverCode: this.driverCode }),
    };
  }
}

export interface FragmentErrorOptions extends TributaryErrorOptions {
  fragmentId: string;
  source: string;
  attempt: number;
}

/** A fragment that failed: which one, on which source, at which attempt, and why. */
export class FragmentError extends TributaryError {
  override name = 'FragmentError';
  readonly fragmentId: string;
  readonly source: string;
  readonly attempt: number;
  override readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: FragmentErrorOptions) {
    super(code, message, {
      ...options,
      issues: options.issues ?? [{ path: `fragments.${options.fragmentId}`, message }],
    });
    this.fragmentId = options.fragmentId;
    this.source = options.source;
    this.attempt = options.attempt;
    this.retryable = options.retryable ?? false;
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      fragmentId: this.fragmentId,
      source: this.source,
      attempt: this.attempt,
      retryable: this.retryable,
    };
  }
}

/** True for a TributaryError (or subclass), optionally with the given code. */
export function isTributaryError(error: unknown, code?: ErrorCode): error is TributaryError {
  return error instanceof TributaryError && (code === undefined || error.code === code);
}
