import { Observable, finalize, share } from 'rxjs';

/**
 * Shares identical loads that run at the same time. The first caller of a key starts its
 * load; every caller that comes while it runs joins it and gets the same outcome. The load
 * is unsubscribed (and so its source call aborted) only when the last caller leaves, and it
 * is forgotten as soon as it completes, fails or is torn down, so a later caller starts
 * afresh (and, having missed the cache, finds what the load stored).
 */
export class InflightLoads {
  readonly #loads = new Map<string, Observable<unknown>>();
  #joins = 0;

  /** The shared load for `key`: `load$` itself is subscribed at most once at a time. */
  share<T>(key: string, load$: Observable<T>): Observable<T> {
    const running = this.#loads.get(key);
    if (running) {
      return new Observable<T>((subscriber) => {
        // Count a join only if the load is still the one running when the caller subscribes.
        if (this.#loads.get(key) === running) this.#joins++;
        return (running as Observable<T>).subscribe(subscriber);
      });
    }
    const shared$: Observable<T> = load$.pipe(
      finalize(() => {
        if (this.#loads.get(key) === shared$) this.#loads.delete(key);
      }),
      share(),
    );
    this.#loads.set(key, shared$);
    return shared$;
  }

  /** Callers that joined a load another caller started. */
  get joins(): number {
    return this.#joins;
  }

  /** Loads running now. */
  get size(): number {
    return this.#loads.size;
  }
}
