import { TributaryError } from '../errors.js';
import { estimateRowBytes } from './bytes.js';
import type { Row } from './row.js';

/**
 * Row and byte limits, counted in one place. A connector makes one counter per call (the
 * smaller of the plan's and its own limits) and feeds it what it fetches; the first row or
 * byte past a bound throws LIMIT_EXCEEDED naming the fragment, so the connector stops the
 * work on the server there and then.
 */

/**
 * The byte bound of a fragment when neither its source nor the executor sets one: 64 MiB of
 * estimated row bytes (`estimateRowBytes`; `httpSource`: of response bodies as read). A
 * plan cannot pull a whole huge table into memory unless someone lifted it knowingly.
 */
export const DEFAULT_FRAGMENT_MAX_BYTES = 64 * 2 ** 20;

/** Bounds of one call; `undefined` (or `Infinity`) means unbounded. */
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

/**
 * A fragment's bounds on its source: the run's (the plan's `limits` with the executor's
 * `rowLimits`, smaller winning), each tightened by the source's own (`SourceExecutor.limits`).
 * A byte bound that neither the source nor the executor set is `defaultMaxBytes` (undefined
 * when the executor lifted it). An `Infinity` bound is no bound: it is left out.
 */
export function fragmentLimits(run: Limits, source: Limits | undefined, defaultMaxBytes: number | undefined): Limits {
  const maxRows = finite(smaller(run.maxRows, source?.maxRows));
  const own = source?.maxBytes === undefined ? defaultMaxBytes : source.maxBytes;
  const maxBytes = finite(smaller(run.maxBytes, own));
  return { ...(maxRows === undefined ? {} : { maxRows }), ...(maxBytes === undefined ? {} : { maxBytes }) };
}

/** The bound, or undefined when it bounds nothing (`Infinity`). */
export function finite(bound: number | undefined): number | undefined {
  return bound === Infinity ? undefined : bound;
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
  /** False when neither bound is set: nothing can be exceeded, so a caller may skip counting. */
  readonly bounded: boolean;
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
  /** The bounds counted against (undefined: none), for a connector that passes them on (a thread). */
  readonly maxRows: number | undefined;
  readonly maxBytes: number | undefined;
}

/** A fresh counter for one call. */
export function createLimitCounter(limits: Limits, subject: LimitSubject): LimitCounter {
  return new Counter(finite(limits.maxRows), finite(limits.maxBytes), subject);
}

/** LimitCounter as a class: one object per call, no closures (it is made for every statement). */
class Counter implements LimitCounter {
  readonly bounded: boolean;
  rows = 0;
  bytes = 0;
  readonly #maxRows: number | undefined;
  readonly #maxBytes: number | undefined;
  readonly #subject: LimitSubject;

  get maxRows(): number | undefined {
    return this.#maxRows;
  }

  get maxBytes(): number | undefined {
    return this.#maxBytes;
  }

  constructor(maxRows: number | undefined, maxBytes: number | undefined, subject: LimitSubject) {
    this.#maxRows = maxRows;
    this.#maxBytes = maxBytes;
    this.#subject = subject;
    this.bounded = maxRows !== undefined || maxBytes !== undefined;
  }

  add(row: Row): void {
    this.addCount(1);
    if (this.#maxBytes !== undefined) this.#countBytes(estimateRowBytes(row), 'estimated');
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
    const maxRows = this.#maxRows;
    if (maxRows !== undefined && this.rows > maxRows) throw limitExceeded(this.#subject, `more than maxRows=${maxRows} rows`);
  }

  addBytes(n: number): void {
    this.#countBytes(n, 'read');
  }

  checkBytes(n: number): void {
    const maxBytes = this.#maxBytes;
    if (maxBytes !== undefined && this.bytes + n > maxBytes) throw limitExceeded(this.#subject, `more than maxBytes=${maxBytes} bytes (declared)`);
  }

  #countBytes(n: number, how: string): void {
    this.bytes += n;
    const maxBytes = this.#maxBytes;
    if (maxBytes !== undefined && this.bytes > maxBytes) throw limitExceeded(this.#subject, `more than maxBytes=${maxBytes} bytes (${how})`);
  }
}
