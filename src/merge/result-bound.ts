import { TributaryError } from '../errors.js';
import { estimateRowBytes } from '../data/bytes.js';
import type { Row } from '../data/row.js';

/**
 * Bounds on what the merge produces (`rowLimits.maxResultRows` / `maxResultBytes`, a plan's
 * `limits`): each merge step's output — a join's, a nest's, a union's, … — counted AS the
 * step makes its rows, so a join of two big fragments on a constant column fails at the
 * first row past the bound instead of growing quadratically until the process runs out of
 * memory. The fragments' own bounds (`maxRows` / `maxBytes`) say nothing about this: a
 * product of two 64 MiB inputs is far bigger than either.
 */

/**
 * The byte bound of each merge step when the executor sets none: 256 MiB of estimated row
 * bytes, four fragments at their default bound (64 MiB). A union of a few full fragments
 * still fits; a product of two does not.
 */
export const DEFAULT_RESULT_MAX_BYTES = 256 * 2 ** 20;

/** Bounds of each merge step; `undefined` means unbounded. */
export interface ResultLimits {
  maxRows?: number | undefined;
  maxBytes?: number | undefined;
}

/**
 * Rows between two byte samples. A row's estimate walks its columns, so sampling every
 * row would cost a join about what building the row does; every 64th keeps the estimate
 * within noise of the join's own cost while the bound still stops it within 64 rows.
 */
const STRIDE = 64;

/** The LIMIT_EXCEEDED error of a merge step, with an issue at its path (e.g. `merge.input`). */
export function resultLimitExceeded(path: string, what: string): TributaryError {
  const message = `merge step at ${path}: ${what}`;
  return new TributaryError('LIMIT_EXCEEDED', message, { retryable: false, issues: [{ path, message }] });
}

/**
 * The running count of one merge step's output, over every array it makes (a streamed step:
 * all its batches together). An operator asks `start()` for the row count at which to call
 * `check` next and calls `end` once its array is complete; between checks it only compares
 * a number, so an unbounded count costs nothing (`start()` is then Infinity).
 *
 * Bytes are estimated from a sample (one row in every 64, `estimateRowBytes`), times the rows
 * made: a step's rows share one shape, and their values are shared with the inputs, which
 * their fragments' byte bounds already held.
 */
export class StepCount {
  readonly #maxRows: number | undefined;
  readonly #maxBytes: number | undefined;
  readonly #path: string;
  /** Units (rows; a nest's rows and the child rows it attaches) of the arrays already ended. */
  #done = 0;
  /** Rows of the arrays already ended (the byte estimate is per row). */
  #doneRows = 0;
  #sampledRows = 0;
  #sampledBytes = 0;
  /**
   * Index of the next row to sample in the current array: every 64th row of the step's
   * output as if its arrays were one (a streamed step's batches are sampled as the same rows
   * in one array would be, so it reaches the byte bound where the whole merge does).
   */
  #nextSample = 0;

  constructor(limits: ResultLimits, path: string) {
    this.#maxRows = limits.maxRows;
    this.#maxBytes = limits.maxBytes;
    this.#path = path;
  }

  /** Begins a new array of output rows; returns the length at which to `check` first. */
  start(): number {
    return this.#next(0);
  }

  /**
   * Counts `rows` (`units` of them: more for a nest, whose attached child rows count) and
   * throws LIMIT_EXCEEDED past a bound; returns the length at which to check next.
   */
  check(rows: readonly Row[], units: number = rows.length): number {
    const maxRows = this.#maxRows;
    const total = this.#done + units;
    if (maxRows !== undefined && total > maxRows) throw resultLimitExceeded(this.#path, `more than maxResultRows=${maxRows} rows`);
    const maxBytes = this.#maxBytes;
    if (maxBytes !== undefined) {
      let i = this.#nextSample;
      for (; i < rows.length; i += STRIDE) {
        this.#sampledBytes += estimateRowBytes(rows[i] as Row);
        this.#sampledRows++;
      }
      this.#nextSample = i;
      const bytes = this.#sampledRows === 0 ? 0 : Math.round(((this.#doneRows + rows.length) * this.#sampledBytes) / this.#sampledRows);
      if (bytes > maxBytes) throw resultLimitExceeded(this.#path, `about ${bytes} bytes (estimated), more than maxResultBytes=${maxBytes}`);
    }
    return this.#next(units);
  }

  /** The array is complete: counts what `check` has not seen yet, and carries it over to the next array. */
  end(rows: readonly Row[], units: number = rows.length): void {
    if (this.#maxRows === undefined && this.#maxBytes === undefined) return;
    this.check(rows, units);
    this.#done += units;
    this.#doneRows += rows.length;
    // The next sample's index in the next array, which continues this one.
    this.#nextSample -= rows.length;
  }

  #next(units: number): number {
    const maxRows = this.#maxRows;
    const byRows = maxRows === undefined ? Infinity : maxRows - this.#done + 1;
    const byBytes = this.#maxBytes === undefined ? Infinity : units + STRIDE;
    return Math.min(byRows, byBytes);
  }
}

/** A count that bounds nothing: `start()` is Infinity, so `check` is never called. */
export const UNBOUNDED_COUNT = new StepCount({}, 'merge');

/** One `StepCount` per merge step, by its path, under the same limits. */
export class ResultBound {
  readonly limits: ResultLimits;
  readonly bounded: boolean;

  constructor(limits: ResultLimits) {
    this.limits = limits;
    this.bounded = limits.maxRows !== undefined || limits.maxBytes !== undefined;
  }

  /** A fresh count for the step at `path`. */
  step(path: string): StepCount {
    return this.bounded ? new StepCount(this.limits, path) : UNBOUNDED_COUNT;
  }
}

/** The bounds `evaluateMerge` counts against: the given ones, the default byte bound unless lifted. */
export function resultBound(limits: ResultLimits | undefined): ResultBound {
  const maxRows = limits?.maxRows;
  const maxBytes = limits === undefined ? DEFAULT_RESULT_MAX_BYTES : limits.maxBytes;
  return new ResultBound({ maxRows: maxRows === Infinity ? undefined : maxRows, maxBytes: maxBytes === Infinity ? undefined : maxBytes });
}
