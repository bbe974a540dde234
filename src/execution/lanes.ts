import { Observable, Subject, Subscription, mergeMap } from 'rxjs';

/** Occupancy of one lane. */
export interface LaneStats {
  limit: number;
  running: number;
  queued: number;
}

/**
 * A concurrency lane: at most `limit` scheduled observables are subscribed at once; the
 * rest wait in FIFO order. The cap is RxJS's own `mergeMap(…, limit)` over a queue of jobs,
 * so one lane can be shared by every fragment of every query.
 */
export interface Lane {
  /** Runs `work` when a slot is free; unsubscribing frees the slot or leaves the queue. */
  schedule<T>(work: Observable<T>): Observable<T>;
  stats(): LaneStats;
  /** Stops accepting work; queued jobs never start. */
  close(): void;
}

interface Job {
  start(): Observable<never>;
}

/** Creates a lane of `limit` slots (`Infinity` for no cap). */
export function createLane(limit = Infinity): Lane {
  const jobs = new Subject<Job>();
  let running = 0;
  let queued = 0;
  const pump = jobs.pipe(mergeMap((job) => job.start(), limit)).subscribe();

  const schedule = <T>(work: Observable<T>): Observable<T> =>
    new Observable<T>((subscriber) => {
      let cancelled = false;
      let release: (() => void) | undefined;
      queued++;
      const job: Job = {
        start: () =>
          new Observable<never>((slot) => {
            queued--;
            if (cancelled) {
              slot.complete();
              return undefined;
            }
            running++;
            // Unsubscribed from outside: stop the work now, but hand the slot back on the next
            // microtask. A query being stopped unsubscribes all its jobs in one synchronous
            // sweep, and its waiting jobs must be marked cancelled before the freed slot would
            // start one of them (a source call aborted as soon as it began).
            const inner = new Subscription();
            release = () => {
              inner.unsubscribe();
              queueMicrotask(() => slot.complete());
            };
            inner.add(work.subscribe({
              next: (value) => subscriber.next(value),
              error: (error: unknown) => {
                subscriber.error(error);
                slot.complete();
              },
              complete: () => {
                subscriber.complete();
                slot.complete();
              },
            }));
            return () => {
              running--;
              release = undefined;
              inner.unsubscribe();
            };
          }),
      };
      jobs.next(job);
      return () => {
        if (cancelled) return;
        cancelled = true;
        // A started job gives its slot back; a waiting one is dropped when its turn comes.
        release?.();
      };
    });

  return {
    schedule,
    stats: () => ({ limit, running, queued }),
    close: () => {
      jobs.complete();
      pump.unsubscribe();
    },
  };
}

/** A lane with no cap, for sources that declare no `maxConcurrency`. */
export const unbounded = (): Lane => createLane(Infinity);

