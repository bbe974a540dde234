import type { Row } from '../data/row.js';

/**
 * A streamed run's reader, as `run.rows()` hands it out: the batches' generator behind an
 * object the run never references. The generator is reachable from the run while it waits
 * for rows (the run holds its wake-up), this handle only from the reader; so once the reader
 * has dropped it — no `break`, no `return()` — the collector takes it, and `leave` runs as if
 * the reader had left (the sources stop rather than wait paused for the deadline). A reader
 * awaiting a read has not left, even if it holds only the read's promise
 * (`await run.rows().next()`): the handle is held while a read is under way. @internal
 */
class ReaderHandle implements AsyncIterableIterator<Row[]> {
  readonly #batches: AsyncGenerator<Row[]>;
  /** Reads under way (next, return, throw): while there is one, `reading` holds the handle. */
  #reads = 0;

  constructor(batches: AsyncGenerator<Row[]>) {
    this.#batches = batches;
  }

  next(): Promise<IteratorResult<Row[]>> {
    return this.#held(this.#batches.next());
  }

  return(value?: unknown): Promise<IteratorResult<Row[]>> {
    return this.#held(this.#batches.return(value));
  }

  throw(error?: unknown): Promise<IteratorResult<Row[]>> {
    return this.#held(this.#batches.throw(error));
  }

  /** `read`, with the handle held until it settles. */
  #held(read: Promise<IteratorResult<Row[]>>): Promise<IteratorResult<Row[]>> {
    if (this.#reads++ === 0) reading.add(this);
    return read.finally(() => {
      if (--this.#reads === 0) reading.delete(this);
    });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** The handles with a read under way. */
const reading = new Set<ReaderHandle>();

/** Runs the `leave` a handle was registered with once the collector has taken the handle. */
const collected = new FinalizationRegistry<() => void>((leave) => leave());

/**
 * The handle for `batches`; `leave` (which must not reference the handle, nor anything that
 * does) runs if the handle is collected — a no-op once the reader has finished or left.
 */
export function readerHandle(batches: AsyncGenerator<Row[]>, leave: () => void): AsyncIterableIterator<Row[]> {
  const handle = new ReaderHandle(batches);
  collected.register(handle, leave);
  return handle;
}
