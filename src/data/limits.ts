import { TributaryError } from '../errors.js';
import { estimateRowBytes } from './bytes.js';
import type { Row } from './row.js';

/**
 * Row and byte limits, counted in one place. A connector makes one counter per call (the
 * smaller of the plan's and its own limits) and feeds it what it fetches; the first row or
 * byte past a bound throws LIMIT_EXCEEDED naming the fragment, so the connector stops the
 * work on the server there and then.
 */

/** Bounds of one call; `undefined` means unbounded. */
export interface Limits {
  maxRows?: number | undefined;
  maxBytes?: number | undefined;
}

/** Who is counted, for the error: the fragment and, when known, the source's name. */
export interface LimitSubject {
  fragmentId?: string | undefined;
  source?: string | undefined;
}

/** The smaller of two optional bounds. */
export function smaller(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/** Each bound the tighter of the given limits (an absent one bounds nothing). */
export function tighter(...all: (Limits | undefined)[]): Limits {
  let maxRows: number | undefined;
  let maxBytes: number | undefined;
  for (const limits of all) {
    maxRows = smaller(maxRows, limits?.maxRows);
    maxBytes = smaller(maxBytes, limits?.maxBytes);
  }
  return { maxRows, maxBytes };
}

/** The LIMIT_EXCEEDED error (not retryable), with an issue at `fragments.<id>`. */
export function limitExceeded(subject: LimitSubject, what: string): TributaryError {
  const fragment = subject.fragmentId === undefined ? 'a fragment' : `fragment ${subject.fragmentId}`;
  const message = `${fragment}${subject.source === undefined ? '' : ` on source ${subject.source}`}: ${what}`;
  const path = subject.fragmentId === undefined ? 'fragments' : `fragments.${subject.fragmentId}`;
  return new TributaryError('LIMIT_EXCEEDED', message, { retryable: false, issues: [{ path, message }] });
}

/** The running count of one call; every method throws LIMIT_EXCEEDED past a bound. */
export interface LimitCounter {
  /** One more row: counts it and, under a byte bound, its estimated bytes (`estimateRowBytes`). */
  add(row: Row): void;
  /** `add(row)` for an event handler: the LIMIT_EXCEEDED error is returned (the row not kept), not thrown. */
  admit(row: Row): TributaryError | undefined;
  /** `n` more rows whose bytes are counted otherwise (`addBytes`), e.g. as a response body. */
  addCount(n: number): void;
  /** `n` more bytes as read from the wire. */
  addBytes(n: number): void;
  /** Throws when `n` more bytes (a declared length) would not fit; counts nothing. */
  checkBytes(n: number): void;
  readonly rows: number;
  readonly bytes: number;
}

/** A fresh counter for one call. */
export function createLimitCounter(limits: Limits, subject: LimitSubject): LimitCounter {
  return new Counter(limits.maxRows, limits.maxBytes, subject);
}

/**
 * A class, not a closure per method: every source call makes one, so its methods live on
 * the prototype (the counter is always called as `counter.add(row)`, never detached).
 */
class Counter implements LimitCounter {
  rows = 0;
  bytes = 0;

  constructor(
    readonly maxRows: number | undefined,
    readonly maxBytes: number | undefined,
    readonly subject: LimitSubject,
  ) {}

  add(row: Row): void {
    this.addCount(1);
    if (this.maxBytes !== undefined) this.#countBytes(estimateRowBytes(row), 'estimated');
  }

  admit(row: Row): TributaryError | undefined {
    try {
      this.add(row);
      return undefined;
    } catch (error) {
      if (error instanceof TributaryError) return error;
      throw error;
    }
  }

  addCount(n: number): void {
    this.rows += n;
    if (this.maxRows !== undefined && this.rows > this.maxRows) throw limitExceeded(this.subject, `more than maxRows=${this.maxRows} rows`);
  }

  addBytes(n: number): void {
    this.#countBytes(n, 'read');
  }

  checkBytes(n: number): void {
    if (this.maxBytes !== undefined && this.bytes + n > this.maxBytes) throw limitExceeded(this.subject, `more than maxBytes=${this.maxBytes} bytes (declared)`);
  }

  #countBytes(n: number, how: string): void {
    this.bytes += n;
    if (this.maxBytes !== undefined && this.bytes > this.maxBytes) throw limitExceeded(this.subject, `more than maxBytes=${this.maxBytes} bytes (${how})`);
  }
}
