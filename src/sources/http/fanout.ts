import { from, lastValueFrom, mergeMap, Observable } from 'rxjs';

/**
 * Runs `work` over `items` with at most `concurrency` in flight and returns the results in
 * item order. Each item gets its own AbortSignal, linked to `signal`: when one item fails,
 * mergeMap unsubscribes the others, and their teardown aborts their requests.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  signal: AbortSignal,
  work: (item: T, signal: AbortSignal) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  const one = (item: T, index: number) =>
    new Observable<never>((subscriber) => {
      const { controller, dispose } = linkedController([signal]);
      work(item, controller.signal).then(
        (result) => {
          results[index] = result;
          subscriber.complete();
        },
        (error: unknown) => subscriber.error(error),
      );
      return () => {
        dispose();
        // Harmless after completion; after a sibling's failure it stops this request.
        controller.abort(new Error('a sibling request failed'));
      };
    });
  await lastValueFrom(from(items).pipe(mergeMap(one, Math.max(1, concurrency))), { defaultValue: undefined });
  return results;
}

/**
 * An AbortController that aborts (with the same reason) when any of `signals` does;
 * `dispose()` removes the listeners. Unlike AbortSignal.any, nothing stays attached to a
 * long-lived signal (the source's lifetime) after the call.
 */
export function linkedController(signals: readonly AbortSignal[]): { controller: AbortController; dispose(): void } {
  const controller = new AbortController();
  const listeners = signals.map((signal) => {
    const onAbort = () => controller.abort(signal.reason);
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener('abort', onAbort, { once: true });
    return () => signal.removeEventListener('abort', onAbort);
  });
  return { controller, dispose: () => listeners.forEach((remove) => remove()) };
}
