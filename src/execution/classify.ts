import { FragmentError, TributaryError } from '../errors.js';
import { defaultIsRetryable, type SourceExecutor } from '../sources/source.js';

/** What the pipeline knows about the fragment whose call failed. */
export interface FailureContext {
  fragmentId: string;
  sourceName: string;
  source: SourceExecutor;
  attempt: number;
}

/**
 * Turns whatever a source threw into a `FragmentError`: the source's own classification
 * decides `retryable`, a `TributaryError`'s code is kept, and the driver's code (SQLSTATE,
 * errno, HTTP status) travels along as `driverCode`.
 */
export function toFragmentError(error: unknown, ctx: FailureContext): FragmentError {
  if (error instanceof FragmentError) return error;
  const retryable = error instanceof TributaryError && error.code === 'TIMEOUT' ? true : safeIsRetryable(ctx.source, error);
  const code = error instanceof TributaryError ? error.code : retryable ? 'SOURCE_UNAVAILABLE' : 'FRAGMENT_FAILED';
  const message = error instanceof Error ? error.message : String(error);
  return new FragmentError(code, `fragment "${ctx.fragmentId}" on source "${ctx.sourceName}" failed (attempt ${ctx.attempt}): ${message}`, {
    fragmentId: ctx.fragmentId,
    source: ctx.sourceName,
    attempt: ctx.attempt,
    retryable,
    cause: error,
    driverCode: driverCodeOf(error),
    retryAfterMs: error instanceof TributaryError ? error.retryAfterMs : undefined,
    issues: error instanceof TributaryError && error.issues.length > 0 ? error.issues : undefined,
  });
}

function safeIsRetryable(source: SourceExecutor, error: unknown): boolean {
  try {
    return source.isRetryable ? source.isRetryable(error) : defaultIsRetryable(error);
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
