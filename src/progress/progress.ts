import { Observable } from 'rxjs';
import type { ExecutionEvent } from './events.js';
import { LevelTally } from './level-tally.js';

/** A running tally of one query, derived from its events. */
export interface Progress {
  total: number;
  succeeded: number;
  failed: number;
  /** Fragments served from the cache (also counted in `succeeded`). */
  cached: number;
  /** Fragments skipped (an upstream failed or never ran) or dropped (optional, past the deadline). */
  skipped: number;
  /**
   * Fragments the run's end stopped before they settled (a cancel, fail-fast, a failing
   * deadline, the executor closing). Once `done`, succeeded + failed + skipped + cancelled = total.
   */
  cancelled: number;
  running: number;
  /**
   * The lowest level with a fragment not finished (succeeded, failed, skipped or dropped), the
   * last level once all have: the machine's `executing-level-N`. Under `eager`, fragments of
   * higher levels may run, or have finished, meanwhile. A fragment the run's end cancelled does
   * not finish its level: a stopped run's last value names the level it stopped in.
   */
  level: number;
  /** Finished fragments ÷ total, 0–100; exactly 100 once the query is done. */
  percent: number;
  retries: number;
  done: boolean;
}

/** The progress before any event. */
export function initialProgress(total: number): Progress {
  return { total, succeeded: 0, failed: 0, cached: 0, skipped: 0, cancelled: 0, running: 0, level: 0, percent: 0, retries: 0, done: false };
}

/**
 * Folds one event into the tally. Pure, so progress is derived from events alone and can
 * be rebuilt from a recorded stream: `running` (the fragments with a call in flight) and
 * `level` (see `LevelTally`) are what the events so far say, this one included.
 */
export function reduceProgress(progress: Progress, event: ExecutionEvent, running: ReadonlySet<string>, level: number): Progress {
  const p = level === progress.level ? progress : { ...progress, level };
  switch (event.type) {
    case 'query.started':
      return { ...p, total: event.fragments };
    case 'fragment.succeeded':
      return withPercent({ ...p, succeeded: p.succeeded + 1, cached: p.cached + (event.cached ? 1 : 0), running: running.size });
    case 'fragment.failed':
      return withPercent({ ...p, failed: p.failed + 1, running: running.size });
    case 'fragment.skipped':
      return withPercent({ ...p, skipped: p.skipped + 1 });
    case 'fragment.dropped':
      // A dropped optional fragment counts with the skipped ones: it will not contribute.
      return withPercent({ ...p, skipped: p.skipped + 1, running: running.size });
    case 'fragment.cancelled':
      return { ...p, cancelled: p.cancelled + 1, running: running.size };
    case 'fragment.started':
    case 'fragment.joined':
      return { ...p, running: running.size };
    case 'fragment.retrying':
      return { ...p, retries: p.retries + 1 };
    case 'query.done':
      return { ...p, running: 0, percent: 100, done: true };
    case 'query.failed':
      return { ...p, running: 0, done: true };
    case 'level.started':
    case 'fragment.queued':
    case 'fragment.attempt.failed':
    case 'fragment.cached':
    case 'fragment.remote':
    case 'merge.started':
    case 'source.circuit.opened':
    case 'source.circuit.closed':
    case 'cache.unavailable':
    case 'source.limit.changed':
    case 'fragment.hedged':
    case 'fragment.hedge.ended':
    case 'fragment.batch.succeeded':
      return p;
    default:
      return event satisfies never;
  }
}

function changed(a: Progress, b: Progress): boolean {
  for (const key of Object.keys(a) as (keyof Progress)[]) if (a[key] !== b[key]) return true;
  return false;
}

function withPercent(p: Progress): Progress {
  const finished = p.succeeded + p.failed + p.skipped;
  // Never 100 before the merge is done: the last percent belongs to query.done.
  const percent = p.total === 0 ? 0 : Math.min(99, Math.floor((finished / p.total) * 100));
  return { ...p, percent: Math.max(p.percent, percent) };
}

/**
 * Turns a query's events into its progress: one value per change, monotonic in every
 * counter, completing with the events.
 */
export function progressFrom(events$: Observable<ExecutionEvent>, total: number): Observable<Progress> {
  return new Observable<Progress>((subscriber) => {
    let progress = initialProgress(total);
    const running = new Set<string>();
    const levels = new LevelTally();
    subscriber.next(progress);
    return events$.subscribe({
      next(event) {
        if (event.type === 'fragment.started' || event.type === 'fragment.joined') running.add(event.fragmentId);
        if (event.type === 'fragment.succeeded' || event.type === 'fragment.failed' || event.type === 'fragment.dropped' || event.type === 'fragment.cancelled') running.delete(event.fragmentId);
        const next = reduceProgress(progress, event, running, levels.note(event));
        if (changed(progress, next)) {
          progress = next;
          subscriber.next(progress);
        }
      },
      error: (err: unknown) => subscriber.error(err),
      complete: () => subscriber.complete(),
    });
  });
}
