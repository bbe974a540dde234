import { TributaryError } from '../errors.js';
import type { BatchSink } from '../execution/source-call.js';
import type { StreamFlow } from '../merge/stream.js';
import type { Row } from '../data/row.js';
import { readerHandle } from './reader-handle.js';

/** Batches waiting for the consumer before producers are held back. */
const HIGH_WATER = 4;

/**
 * The hand-over between streaming fragments and `run.rows()`: fragments push batches in
 * (through the merge's streaming flow), the consumer pulls merged batches out. A full
 * queue holds the producers back, which holds their sources back (a cursor fetches its
 * next batch only when asked), so memory stays bounded by a few batches. @internal
 */
export class RowStream {
  readonly #flow: StreamFlow;
  readonly #queue: Row[][] = [];
  #consumer: (() => void) | undefined;
  #producers: (() => void)[] = [];
  #finished = false;
  #error: unknown;
  #closed = false;
  #columns: string[] | undefined;
  #count = 0;
  #taken = false;
  /** A merge step failed on a batch: the merge's error, not the fragment's (see `verify`). */
  #mergeError: { error: unknown } | undefined;

  /** Called once when the consumer leaves before the end (see `batches`). */
  readonly #onLeave: () => void;

  constructor(flow: StreamFlow, onLeave: () => void = () => undefined) {
    this.#flow = flow;
    this.#onLeave = onLeave;
  }

  /** True once the consumer left before the end: no row can reach anyone any more. */
  get gone(): boolean {
    return this.#closed && !this.#finished && this.#mergeError === undefined;
  }

  /** Output rows so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * The output's column names: worked out by the merge's flow from its leaves' names (so a
   * stream that yields no row still has them), else those of the first output batch.
   */
  get columns(): string[] {
    const fromFlow = this.#flow.columns();
    return fromFlow.length > 0 ? fromFlow : (this.#columns ?? []);
  }

  /** Throws what the whole merge would have (see `StreamFlow.verify`); once every fragment has settled. */
  verify(): void {
    if (this.#mergeError) throw this.#mergeError.error;
    this.#flow.verify();
  }

  /** True when a leaf's rows are no longer wanted (a satisfied limit, or the consumer left). */
  satisfied(leaf: string): boolean {
    return this.#closed || this.#flow.satisfied(leaf);
  }

  /**
   * True when the consumer left before the end while `leaf`'s rows were still wanted (no
   * satisfied limit stopped it, and no merge step failed): what `leaf` did not deliver is missing, not unneeded.
   */
  left(leaf: string): boolean {
    return this.gone && !this.#flow.satisfied(leaf);
  }

  /** The sink of one streaming fragment. */
  sinkFor(leaf: string): BatchSink {
    return async (batch) => {
      if (this.#closed) return false;
      // Rows a union held for this batch's columns go first: they came first, and this batch may wait (at a join).
      const held = this.#flow.show(leaf, batch);
      if (held !== undefined && !(await this.#deliver(held))) return false;
      if (!(await this.#deliver(this.#flow.push(leaf, batch)))) return false;
      return !this.satisfied(leaf);
    };
  }

  /**
   * `leaf` will send no more batches: rows the merge held for its columns (a union's) go on.
   * Undefined when none do (the common case costs no promise).
   */
  end(leaf: string): Promise<unknown> | undefined {
    if (this.#closed) return undefined;
    const out = this.#flow.end(leaf);
    return out && this.#deliver(out);
  }

  /** Queues the merge's output for the consumer (holding the producer back while the queue is full); false once the merge failed. */
  async #deliver(rows: Promise<Row[]>): Promise<boolean> {
    let out: Row[];
    try {
      out = await rows;
    } catch (error) {
      // The merge failed, not the fragment: every source stops, and the run fails its merge
      // with this error, as it would have merging whole results.
      this.#mergeError ??= { error };
      this.#closed = true;
      for (const release of this.#producers.splice(0)) release();
      return false;
    }
    if (out.length > 0 && !this.#closed) {
      this.#columns ??= Object.keys(out[0]!);
      this.#count += out.length;
      this.#queue.push(out);
      this.#wakeConsumer();
      while (this.#queue.length >= HIGH_WATER && !this.#closed) {
        await new Promise<void>((resolve) => this.#producers.push(resolve));
      }
    }
    return true;
  }

  /** The run has ended: the consumer drains what is queued, then stops (or throws `error`). */
  finish(error?: unknown): void {
    this.#finished = true;
    this.#error = error;
    this.#wakeConsumer();
  }

  /**
   * Merged rows in batches of at most `size`. Leaving early stops the sources at once. One
   * reader: the rows are handed on once and not kept, so a second reader (at the same time,
   * or after the first) would wait forever or see nothing; it gets an error instead.
   */
  batches(size: number): AsyncIterableIterator<Row[]> {
    if (this.#taken) return secondReader();
    this.#taken = true;
    // A reader that drops its iterator unread or half read (and lets the collector take it) has left too.
    return readerHandle(this.#batches(size), this.#leave.bind(this));
  }

  async *#batches(size: number): AsyncGenerator<Row[]> {
    try {
      for (;;) {
        const next = this.#queue.shift();
        if (next) {
          this.#producers.shift()?.();
          for (let i = 0; i < next.length; i += size) yield next.length <= size ? next : next.slice(i, i + size);
          continue;
        }
        if (this.#finished) {
          if (this.#error !== undefined) throw this.#error instanceof Error ? this.#error : new TributaryError('FRAGMENT_FAILED', String(this.#error));
          return;
        }
        await new Promise<void>((resolve) => (this.#consumer = resolve));
      }
    } finally {
      this.#leave();
    }
  }

  /** The reader is done with the rows. Before the end (a break, a return, a throw, a dropped iterator): whatever still runs for them is stopped now. */
  #leave(): void {
    const early = !this.#closed && !this.#finished;
    this.#closed = true;
    for (const release of this.#producers.splice(0)) release();
    if (early) this.#onLeave();
  }

  #wakeConsumer(): void {
    const wake = this.#consumer;
    this.#consumer = undefined;
    wake?.();
  }
}

// eslint-disable-next-line require-yield
async function* secondReader(): AsyncGenerator<Row[]> {
  throw new TributaryError(
    'CONFIG_INVALID',
    'run.rows() is already being read: a streamed run hands its rows to one reader and does not keep them (read them once, or use run.result without rows())',
    { issues: [{ path: 'rows', message: 'one reader per streamed run' }] },
  );
}
