import { TributaryError } from '../errors.js';
import { columnsOf, withColumns } from '../data/columns.js';
import { estimateRowsBytes } from '../data/bytes.js';
import { limitExceeded } from '../data/limits.js';
import { LIMITS_COUNTED, type CountedBytes } from '../sources/call-limits.js';
import { REQUEST_TALLY, type RequestTally } from '../sources/request-tally.js';
import { CALL_VALUES, type CallValuesCarrier } from '../value-mask.js';
import type { Row } from '../data/row.js';
import type { AbortListener, ExecuteContext, Principal, SourceExecutor } from '../sources/source.js';

/**
 * Where streamed batches go. It returns (or resolves to) `false` to say "enough" (a
 * satisfied limit): the call then stops the source and completes with what it has. The
 * call waits for the returned promise before pulling the next batch, so a slow consumer
 * holds the source back instead of filling memory. `bytes`: the batch's bytes as counted
 * against the call's byte bound (see `CallOutput.bytes`), so nobody estimates them again.
 */
export type BatchSink = (batch: Row[], bytes?: number) => boolean | void | Promise<boolean | void>;

/** What one call produced. */
export interface CallOutput {
  /** The rows kept (all of them, unless a sink took them and `retain` was false). */
  rows: Row[];
  /** Rows the source returned, kept or not. */
  count: number;
  /** True when the sink said "enough" before the source was exhausted. */
  stopped: boolean;
  /**
   * Its rows' bytes as counted against its byte bound: its connector's count (`callLimits`;
   * `httpSource`: response bodies as read), else the executor's estimate. Undefined without
   * a byte bound (nothing was counted).
   */
  bytes: number | undefined;
}

export interface SinkOptions {
  sink: BatchSink;
  /** Keep the rows too (another fragment binds them, or the merge needs them). */
  retain: boolean;
  /** Set as soon as a batch with rows has reached the sink: a retry would then duplicate rows. */
  onFirstBatch(): void;
  /** The source has nothing more to give: its rows were an array (about to reach the sink), or its iterator is done. */
  onEnd?(): void;
}

/** What a call passes to `source.execute`, besides the signal. */
export interface CallContext {
  params: unknown[];
  principal?: Principal;
  fragmentId: string;
  /** The source's registered name, for messages. */
  sourceName: string;
  limits: { maxRows?: number; maxBytes?: number };
  /** The fragment it serves, whose calls share one request tally in this run. */
  readonly owner?: { readonly env: { requestTally?(fragment: number): RequestTally }; readonly index: number };
  /** See `ExecuteContext.budgetMs`. */
  budgetMs?: number;
  /** The bound call: `values`, every value it is made with (see BoundCall), read only to mask an error of the call. */
  readonly bound?: { readonly values: readonly unknown[] };
  onRemote?(info: { worker: string; jobId: string }): void;
}

/**
 * One call of `source.execute`. An array result is one batch; an `AsyncIterable<Row[]>`
 * is pulled batch by batch, each handed to the sink when there is one. `abort(reason)`
 * fires the call's signal and closes the iterator: this is how timeouts, cancellation and
 * fail-fast reach the source. The signal's AbortController is made only when something
 * reads it (most calls finish without anyone looking), which is what `ctx.signal` is here.
 */
export class SourceCall implements ExecuteContext, CallValuesCarrier {
  readonly params: unknown[];
  readonly principal?: Principal;
  readonly fragmentId: string;
  readonly limits: { maxRows?: number; maxBytes?: number };
  readonly stream: boolean;
  readonly budgetMs?: number;
  readonly #ctx: CallContext;
  #controller: AbortController | undefined;
  #reason: unknown;
  #aborted = false;
  /** Who hears the abort without a signal: one listener (the common case) or several. */
  #listeners: AbortListener | AbortListener[] | undefined;
  #iterator: AsyncIterator<Row[]> | undefined;
  /** Its connector's count of its bytes, when it counts them against `limits` (it called `callLimits`). */
  #counted: CountedBytes | undefined;
  /** Its bytes counted so far (see `#countBytes`). */
  #bytes = 0;
  readonly #source: SourceExecutor;
  readonly #query: unknown;
  readonly #streaming: SinkOptions | undefined;

  constructor(source: SourceExecutor, query: unknown, ctx: CallContext, streaming?: SinkOptions) {
    this.#source = source;
    this.#query = query;
    this.#streaming = streaming;
    this.params = ctx.params;
    this.fragmentId = ctx.fragmentId;
    this.limits = ctx.limits;
    this.stream = streaming !== undefined;
    if (ctx.principal !== undefined) this.principal = ctx.principal;
    const budgetMs = ctx.budgetMs;
    if (budgetMs !== undefined) this.budgetMs = budgetMs;
    this.#ctx = ctx;
  }

  /**
   * A remote source says which worker ran the call. A getter handing out a bound function:
   * a connector may pass it on detached (the remote lane does), and a call that never reads
   * it pays for no closure.
   */
  get onRemote(): (info: { worker: string; jobId: string }) => void {
    const ctx = this.#ctx;
    return (info) => ctx.onRemote?.(info);
  }

  /** The values the call was made with, for a wrapper of the source (a recording) that masks its errors: see value-mask.ts. */
  get [CALL_VALUES](): readonly unknown[] | undefined {
    return this.#ctx.bound?.values;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** `callLimits` says its connector counts this call's rows and bytes, there (see LIMITS_COUNTED). */
  [LIMITS_COUNTED](counted: CountedBytes): void {
    this.#counted = counted;
  }

  /** The requests every call of its fragment has sent in this run (see request-tally.ts). */
  get [REQUEST_TALLY](): RequestTally | undefined {
    const owner = this.#ctx.owner;
    return owner?.env.requestTally?.(owner.index);
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  onAbort(listener: AbortListener): void {
    if (this.#aborted) {
      listener.aborted(this.#reason);
      return;
    }
    const listeners = this.#listeners;
    if (listeners === undefined) this.#listeners = listener;
    else if (Array.isArray(listeners)) listeners.push(listener);
    else this.#listeners = [listeners, listener];
  }

  offAbort(listener: AbortListener): void {
    const listeners = this.#listeners;
    if (listeners === listener) this.#listeners = undefined;
    else if (Array.isArray(listeners)) {
      const i = listeners.indexOf(listener);
      if (i >= 0) listeners.splice(i, 1);
    }
  }

  /** Fires the signal and the abort listeners (once) and closes the iterator, if the source returned one. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (Array.isArray(listeners)) for (const listener of listeners) listener.aborted(reason);
    else listeners?.aborted(reason);
    void this.#iterator?.return?.()?.catch(() => undefined);
  }

  /**
   * Calls the source. A promise of rows (what most connectors return) costs one reaction:
   * no async frame per call. Batches (an async iterable, or a streaming call) go through
   * `#drain`.
   */
  run(): Promise<CallOutput> {
    let out: ReturnType<SourceExecutor['execute']>;
    try {
      out = this.#source.execute(this.#query, this);
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve(out).then((value) => this.#output(value));
  }

  #output(out: Row[] | AsyncIterable<Row[]>): CallOutput | Promise<CallOutput> {
    if (Array.isArray(out) && !this.#streaming) {
      const maxRows = this.limits.maxRows ?? Infinity;
      if (out.length > maxRows) throw this.#tooMany(maxRows);
      this.#checkRows(out);
      this.#countBytes(out);
      return { rows: out, count: out.length, stopped: false, bytes: this.#total() };
    }
    return this.#drain(out);
  }

  async #drain(out: Row[] | AsyncIterable<Row[]>): Promise<CallOutput> {
    const maxRows = this.limits.maxRows ?? Infinity;
    const rows: Row[] = [];
    let count = 0;
    const take = async (batch: Row[], last = false): Promise<boolean> => {
      if (!Array.isArray(batch)) throw new TributaryError('SOURCE_BAD_RESPONSE', `source "${this.#source.kind}" yielded a batch that is not an array of rows`);
      // The first batch names the columns (see withColumns): the kept rows carry them on.
      if (count === 0 && rows.length === 0) {
        const names = columnsOf(batch);
        if (names !== undefined) withColumns(rows, names);
      }
      count += batch.length;
      if (count > maxRows) throw this.#tooMany(maxRows);
      this.#checkRows(batch);
      const bytes = this.#countBytes(batch);
      const streaming = this.#streaming;
      if (!streaming) {
        for (const row of batch) rows.push(row);
        return true;
      }
      if (streaming.retain) for (const row of batch) rows.push(row);
      // An empty batch hands on no row (a SQL source names its columns before the first one): a retry would duplicate nothing.
      if (batch.length > 0) streaming.onFirstBatch();
      if (last) streaming.onEnd?.();
      return (await streaming.sink(batch, bytes)) !== false;
    };
    if (Array.isArray(out)) {
      const more = await take(out, true);
      return { rows, count, stopped: !more, bytes: this.#total() };
    }
    if (!out || typeof (out as AsyncIterable<Row[]>)[Symbol.asyncIterator] !== 'function') {
      throw new TributaryError('SOURCE_BAD_RESPONSE', `source "${this.#ctx.sourceName}" (${this.#source.kind}) returned neither rows nor an async iterable of rows`);
    }
    const iterator = (out as AsyncIterable<Row[]>)[Symbol.asyncIterator]();
    this.#iterator = iterator;
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done) {
          this.#streaming?.onEnd?.();
          return { rows, count, stopped: false, bytes: this.#total() };
        }
        if (this.#aborted) throw this.#reason;
        if (!(await take(next.value))) {
          // Enough rows: stop the source (server side too) and finish normally.
          this.abort(new TributaryError('CANCELLED', 'the rows that were needed have arrived'));
          return { rows, count, stopped: true, bytes: this.#total() };
        }
      }
    } catch (error) {
      void iterator.return?.()?.catch(() => undefined);
      throw error;
    }
  }

  /** Every row an object (a record, not an array or a scalar): a custom source's bug fails its fragment here, not the merge. */
  #checkRows(rows: readonly unknown[]): void {
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      if (typeof row !== 'object' || row === null || Array.isArray(row)) {
        const what = row === null ? 'null' : Array.isArray(row) ? 'an array' : typeof row;
        throw new TributaryError('SOURCE_BAD_RESPONSE', `source "${this.#ctx.sourceName}" (${this.#source.kind}) returned a row that is not an object (row ${i} is ${what})`);
      }
    }
  }

  /**
   * A batch's bytes under a byte bound (undefined without one), counted once: what its
   * connector counted since the last batch (it bounded them as it fetched), else their
   * estimate, held here to `limits.maxBytes` as they arrive (a custom source that never
   * called `callLimits`). A batched fragment adds its calls' counts up (BatchTally).
   */
  #countBytes(batch: readonly Row[]): number | undefined {
    const maxBytes = this.limits.maxBytes;
    if (maxBytes === undefined) return undefined;
    const counted = this.#counted;
    if (counted !== undefined) {
      const bytes = counted.bytes - this.#bytes;
      this.#bytes = counted.bytes;
      return bytes;
    }
    const bytes = estimateRowsBytes(batch);
    this.#bytes += bytes;
    if (this.#bytes > maxBytes) throw limitExceeded({ fragmentId: this.fragmentId, source: this.#ctx.sourceName }, `${this.#bytes} bytes (estimated), more than maxBytes=${maxBytes}`);
    return bytes;
  }

  /** The call's bytes so far: its connector's count at its end (it may have counted past its last batch). */
  #total(): number | undefined {
    if (this.limits.maxBytes === undefined) return undefined;
    return this.#counted === undefined ? this.#bytes : Math.max(this.#bytes, this.#counted.bytes);
  }

  #tooMany(maxRows: number): TributaryError {
    return limitExceeded({ fragmentId: this.fragmentId, source: this.#ctx.sourceName }, `more than maxRows=${maxRows} rows`);
  }
}
