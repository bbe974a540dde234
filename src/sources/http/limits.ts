import { TributaryError } from '../../errors.js';

/**
 * The row and byte budget of one `execute` call, shared by all its pages and per-value
 * requests (JS is single-threaded, so concurrent requests can share plain counters).
 */
export interface Budget {
  /** Counts response-body bytes; throws LIMIT_EXCEEDED as soon as the total passes maxBytes. */
  addBytes(n: number): void;
  /** Throws LIMIT_EXCEEDED if `n` more bytes (a declared Content-Length) cannot fit. */
  checkBytes(n: number): void;
  /** Counts rows; throws LIMIT_EXCEEDED as soon as the total passes maxRows. */
  addRows(n: number): void;
}

/** Bounds for one call; `undefined` means unbounded. */
export interface BudgetLimits {
  maxRows: number | undefined;
  maxBytes: number | undefined;
}

/** The smaller of two optional bounds. */
export function smaller(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/** The LIMIT_EXCEEDED error, naming the fragment so the caller knows which one to narrow. */
export function limitExceeded(fragmentId: string | undefined, what: string): TributaryError {
  const name = fragmentId === undefined ? 'an http fragment' : `fragment ${fragmentId}`;
  const message = `${name}: ${what}`;
  return new TributaryError('LIMIT_EXCEEDED', message, {
    retryable: false,
    issues: [{ path: fragmentId === undefined ? 'fragments' : `fragments.${fragmentId}`, message }],
  });
}

/** A fresh budget for one call. */
export function createBudget(limits: BudgetLimits, fragmentId: string | undefined): Budget {
  let bytes = 0;
  let rows = 0;
  const overBytes = (total: number) =>
    limits.maxBytes !== undefined && total > limits.maxBytes;
  const bytesError = () =>
    limitExceeded(fragmentId, `response bodies exceed maxBytes=${String(limits.maxBytes)}`);
  return {
    addBytes(n) {
      bytes += n;
      if (overBytes(bytes)) throw bytesError();
    },
    checkBytes(n) {
      if (overBytes(bytes + n)) throw bytesError();
    },
    addRows(n) {
      rows += n;
      if (limits.maxRows !== undefined && rows > limits.maxRows) {
        throw limitExceeded(fragmentId, `more than maxRows=${String(limits.maxRows)} rows`);
      }
    },
  };
}
