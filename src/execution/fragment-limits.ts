import { limitExceeded, type Limits, type LimitSubject } from '../data/limits.js';
import { estimateRowsBytes } from '../data/bytes.js';
import type { BatchSink } from './source-call.js';
import type { FragmentOutcome } from './outcome.js';
import type { Row } from '../data/row.js';

/**
 * A fragment's `maxRows` / `maxBytes` (the plan's `limits`, else the executor's `rowLimits`)
 * bound the fragment, all its batches together. Each call is bounded on its own at the source;
 * these bound the sum. Throws LIMIT_EXCEEDED naming the fragment.
 *
 * `calls` is how many source calls (batches) the outcome combines: one call was already held
 * to both bounds by its connector, so its bytes are not counted again (its rows are
 * counted: that is free, and a cache hit may have been stored under other limits). Several
 * calls are summed from what each counted (`outcome.bytes`), estimated only when one did not.
 */
export function checkFragmentLimits(outcome: FragmentOutcome, limits: Limits, calls: number, subject: LimitSubject, cached = false): void {
  const { maxRows, maxBytes } = limits;
  // `count`, not the rows kept: rows streamed to the reader and not retained count too.
  const rows = Math.max(outcome.count, outcome.rows.length);
  if (maxRows !== undefined && rows > maxRows) throw limitExceeded(subject, `${rows} rows${cached ? ' from the cache' : ' over its batches'}, more than maxRows=${maxRows}`);
  // A cache hit was stored by a run under other limits: no connector has held it to these.
  if (maxBytes === undefined || (calls < 2 && !cached)) return;
  const bytes = cached ? cachedBytes(outcome.rows) : (outcome.bytes ?? estimateRowsBytes(outcome.rows));
  if (bytes > maxBytes) throw limitExceeded(subject, `${bytes} bytes (estimated)${cached ? ' from the cache' : ' over its batches'}, more than maxBytes=${maxBytes}`);
}

/**
 * Whether cached rows fit a run's limits: a hit the run may be served at once, without its
 * pipeline (which would fail it, LIMIT_EXCEEDED, by `checkFragmentLimits`).
 */
export function fitsLimits(rows: readonly Row[], limits: Limits): boolean {
  if (limits.maxRows !== undefined && rows.length > limits.maxRows) return false;
  return limits.maxBytes === undefined || cachedBytes(rows) <= limits.maxBytes;
}

/**
 * The bytes of a cache entry's rows (frozen, never changed): what its load counted, in its
 * connectors' measure (`httpSource`: response bodies as read), so a hit is held to a bound as
 * its load was; else their estimate, worked out once per entry.
 */
const bytesOfEntry = new WeakMap<readonly Row[], number>();

/** Notes what the load that stored `rows` in the cache counted of their bytes (see `CallOutput.bytes`); returns `rows`. */
export function withCountedBytes(rows: Row[], bytes: number | undefined): Row[] {
  if (bytes !== undefined) bytesOfEntry.set(rows, bytes);
  return rows;
}
function cachedBytes(rows: readonly Row[]): number {
  let bytes = bytesOfEntry.get(rows);
  if (bytes === undefined) bytesOfEntry.set(rows, (bytes = estimateRowsBytes(rows)));
  return bytes;
}

/**
 * A streamed fragment of several calls: its batches go to the reader as they come, so their
 * sum is bounded as they pass — the call that passes a bound fails there (its statement
 * stopped on the server), rather than the fragment's rows all reaching the reader first.
 * `onRows` hears each batch before the reader does (and may throw to stop it there: the
 * query's row quotas). A lone call is bounded by its connector: `sink` as it is.
 */
export function boundedSink(sink: BatchSink, limits: Limits, calls: number, subject: LimitSubject, onRows: (batch: readonly Row[]) => void): BatchSink {
  if (calls < 2 || (limits.maxRows === undefined && limits.maxBytes === undefined)) {
    return (batch, bytes) => {
      onRows(batch);
      return sink(batch, bytes);
    };
  }
  const tally = new BatchTally(limits, subject, onRows);
  return (batch, bytes) => {
    tally.add(batch, bytes);
    return sink(batch, bytes);
  };
}

/**
 * The batches of a fragment, counted as each call answers (or, streamed, as each batch
 * passes): against the fragment's bounds (their sum) and the query's quota (`account`). The
 * batch that passes a bound throws there, so the fragment fails at once and its other calls
 * are aborted (their statements stopped on the server) rather than all of them running to
 * their end first. A batch's bytes are what its call counted (`CallOutput.bytes`: its
 * connector's count, or the call's estimate), so no row is estimated twice.
 */
export class BatchTally {
  #rows = 0;
  #bytes = 0;

  constructor(
    readonly limits: Limits,
    readonly subject: LimitSubject,
    readonly account: (rows: readonly Row[]) => void,
  ) {}

  add(batch: readonly Row[], bytes: number | undefined): void {
    const { maxRows, maxBytes } = this.limits;
    this.#rows += batch.length;
    if (maxRows !== undefined && this.#rows > maxRows) throw limitExceeded(this.subject, `${this.#rows} rows over its batches, more than maxRows=${maxRows}`);
    if (maxBytes !== undefined) {
      this.#bytes += bytes ?? estimateRowsBytes(batch);
      if (this.#bytes > maxBytes) throw limitExceeded(this.subject, `${this.#bytes} bytes over its batches, more than maxBytes=${maxBytes}`);
    }
    this.account(batch);
  }
}
