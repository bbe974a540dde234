import { FragmentError, TributaryError, type ErrorCode } from '../errors.js';
import { defaultIsRetryable, type SourceExecutor } from '../sources/source.js';

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
}

/**
 * Classifies what a source threw: a TIMEOUT is always worth another try; otherwise the
 * source's own `isRetryable` decides (the port's `defaultIsRetryable` when it has none), and
 * a classifier that throws counts as "not retryable".
 */
export function classifyError(error: unknown, source: SourceExecutor | undefined): Classification {
  const retryable = error instanceof TributaryError && error.code === 'TIMEOUT' ? true : safeIsRetryable(source, error);
  const code = error instanceof TributaryError ? error.code : retryable ? 'SOURCE_UNAVAILABLE' : 'FRAGMENT_FAILED';
  const driverCode = driverCodeOf(error);
  const retryAfterMs = retryAfterOf(error);
  return {
    code,
    retryable,
    message: error instanceof Error ? error.message : String(error),
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
  if (error instanceof FragmentError) return error;
  const c = classifyError(error, ctx.source);
  return new FragmentError(c.code, `fragment "${ctx.fragmentId}" on source "${ctx.sourceName}" failed (attempt ${ctx.attempt}): ${c.message}`, {
    fragmentId: ctx.fragmentId,
    source: ctx.sourceName,
    attempt: ctx.attempt,
    retryable: c.retryable,
    cause: error,
    driverCode: c.driverCode,
    retryAfterMs: c.retryAfterMs,
    issues: error instanceof TributaryError && error.issues.length > 0 ? error.issues : undefined,
  });
}

function safeIsRetryable(source: SourceExecutor | undefined, error: unknown): boolean {
  try {
    return source?.isRetryable ? source.isRetryable(error) : defaultIsRetryable(error);
  } catch {
    return false;
  }
}

function driverCodeOf(error: unknown): string | undefined {
  if (error instanceof TributaryError) return error.driverCode;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, errno } = error as { code?: unknown; errno?: unknown };
  if (typeof code === 'string' || typeof code === 'number') return String(code);
  if (typeof errno === 'number') return String(errno);
  return undefined;
}

function retryAfterOf(error: unknown): number | undefined {
  if (error instanceof TributaryError) return error.retryAfterMs;
  if (typeof error !== 'object' || error === null) return undefined;
  const { retryAfterMs } = error as { retryAfterMs?: unknown };
  return typeof retryAfterMs === 'number' ? retryAfterMs : undefined;
}
