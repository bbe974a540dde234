import { Observable } from 'rxjs';
import { TributaryError } from '../errors.js';
import type { ExecuteContext, Row, SourceExecutor } from '../sources/source.js';

/**
 * One call of `source.execute` as an Observable of a single `Row[]`. Unsubscribing before
 * it settles aborts the call's signal (with `abortReason()`), which is how timeouts,
 * cancellation and fail-fast reach the source. An `AsyncIterable<Row[]>` is drained into
 * one array, stopping at the row limit.
 */
export function sourceCall$(
  source: SourceExecutor,
  query: unknown,
  ctx: Omit<ExecuteContext, 'signal'>,
  controller: AbortController,
  abortReason: () => unknown,
): Observable<Row[]> {
  return new Observable<Row[]>((subscriber) => {
    let settled = false;
    const signal = controller.signal;
    const run = async (): Promise<Row[]> => {
      const out = await source.execute(query, { ...ctx, signal });
      if (Array.isArray(out)) return out;
      if (out && typeof (out as AsyncIterable<Row[]>)[Symbol.asyncIterator] === 'function') {
        return drain(out as AsyncIterable<Row[]>, signal, ctx);
      }
      throw new TributaryError('SOURCE_BAD_RESPONSE', `source "${source.kind}" returned neither rows nor an async iterable of rows`);
    };
    run().then(
      (rows) => {
        settled = true;
        if (!Array.isArray(rows)) {
          subscriber.error(new TributaryError('SOURCE_BAD_RESPONSE', `source "${source.kind}" did not return an array of rows`));
          return;
        }
        subscriber.next(rows);
        subscriber.complete();
      },
      (error: unknown) => {
        settled = true;
        subscriber.error(error);
      },
    );
    return () => {
      if (!settled && !signal.aborted) controller.abort(abortReason());
    };
  });
}

async function drain(batches: AsyncIterable<Row[]>, signal: AbortSignal, ctx: Omit<ExecuteContext, 'signal'>): Promise<Row[]> {
  const out: Row[] = [];
  const maxRows = ctx.limits?.maxRows ?? Infinity;
  for await (const batch of batches) {
    if (signal.aborted) throw signal.reason;
    for (const row of batch) out.push(row);
    if (out.length > maxRows) {
      throw new TributaryError('LIMIT_EXCEEDED', `fragment "${ctx.fragmentId ?? '?'}" returned more than ${maxRows} rows`);
    }
  }
  return out;
}
