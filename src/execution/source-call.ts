import { Observable } from 'rxjs';
import { TributaryError } from '../errors.js';
import type { ExecuteContext, SourceExecutor } from '../sources/source.js';
import type { Row } from '../data/row.js';

/**
 * Where streamed batches go. It returns (or resolves to) `false` to say "enough" (a
 * satisfied limit): the call then stops the source and completes with what it has. The
 * call waits for the returned promise before pulling the next batch, so a slow consumer
 * holds the source back instead of filling memory.
 */
export type BatchSink = (batch: Row[]) => boolean | void | Promise<boolean | void>;

/** What one call produced. */
export interface CallOutput {
  /** The rows kept (all of them, unless a sink took them and `retain` was false). */
  rows: Row[];
  /** Rows the source returned, kept or not. */
  count: number;
  /** True when the sink said "enough" before the source was exhausted. */
  stopped: boolean;
}

export interface SinkOptions {
  sink: BatchSink;
  /** Keep the rows too (another fragment binds them, or the merge needs them). */
  retain: boolean;
  /** Set as soon as one batch has reached the sink: a retry would then duplicate rows. */
  onFirstBatch(): void;
}

/**
 * One call of `source.execute` as an Observable of one `CallOutput`. An array result is
 * one batch; an `AsyncIterable<Row[]>` is pulled batch by batch, each handed to the sink
 * when there is one. Unsubscribing before it settles aborts the call's signal (with
 * `abortReason()`) and closes the iterator: this is how timeouts, cancellation and
 * fail-fast reach the source.
 */
export function sourceCall$(
  source: SourceExecutor,
  query: unknown,
  ctx: Omit<ExecuteContext, 'signal'>,
  controller: AbortController,
  abortReason: () => unknown,
  streaming?: SinkOptions,
): Observable<CallOutput> {
  return new Observable<CallOutput>((subscriber) => {
    let settled = false;
    let iterator: AsyncIterator<Row[]> | undefined;
    const signal = controller.signal;
    const maxRows = ctx.limits?.maxRows ?? Infinity;
    const rows: Row[] = [];
    let count = 0;

    const take = async (batch: Row[]): Promise<boolean> => {
      if (!Array.isArray(batch)) throw new TributaryError('SOURCE_BAD_RESPONSE', `source "${source.kind}" yielded a batch that is not an array of rows`);
      count += batch.length;
      if (count > maxRows) throw new TributaryError('LIMIT_EXCEEDED', `fragment "${ctx.fragmentId ?? '?'}" returned more than ${maxRows} rows`);
      if (!streaming) {
        for (const row of batch) rows.push(row);
        return true;
      }
      if (streaming.retain) for (const row of batch) rows.push(row);
      streaming.onFirstBatch();
      return (await streaming.sink(batch)) !== false;
    };

    const run = async (): Promise<CallOutput> => {
      const out = await source.execute(query, { ...ctx, signal, stream: streaming !== undefined });
      if (Array.isArray(out)) {
        if (!streaming && out.length <= maxRows) return { rows: out, count: out.length, stopped: false };
        const more = await take(out);
        return { rows, count, stopped: !more };
      }
      if (!out || typeof (out as AsyncIterable<Row[]>)[Symbol.asyncIterator] !== 'function') {
        throw new TributaryError('SOURCE_BAD_RESPONSE', `source "${source.kind}" returned neither rows nor an async iterable of rows`);
      }
      iterator = (out as AsyncIterable<Row[]>)[Symbol.asyncIterator]();
      for (;;) {
        const next = await iterator.next();
        if (next.done) return { rows, count, stopped: false };
        if (signal.aborted) throw signal.reason;
        if (!(await take(next.value))) {
          // Enough rows: stop the source (server side too) and finish normally.
          settled = true;
          controller.abort(new TributaryError('CANCELLED', 'the rows that were needed have arrived'));
          await iterator.return?.().catch(() => undefined);
          return { rows, count, stopped: true };
        }
      }
    };

    run().then(
      (output) => {
        settled = true;
        subscriber.next(output);
        subscriber.complete();
      },
      (error: unknown) => {
        settled = true;
        void iterator?.return?.()?.catch(() => undefined);
        subscriber.error(error);
      },
    );
    return () => {
      if (settled) return;
      if (!signal.aborted) controller.abort(abortReason());
      void iterator?.return?.()?.catch(() => undefined);
    };
  });
}
