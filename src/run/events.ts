import { Observable, Subject, type Subscriber } from 'rxjs';
import type { EventSink } from '../execution/env.js';
import type { ExecutionEvent } from '../progress/events.js';
import type { Progress } from '../progress/progress.js';
import type { StatusTable } from './status-table.js';

/**
 * A run's events and progress. Events go to the run's `events$` and the executor's; an
 * event object is built only when one of them has a subscriber (`wanted`), so an unwatched
 * run pays nothing for them. Progress is read from the status table's counters, in place,
 * and a `Progress` value is made only for subscribers of `progress$`, once per change.
 * @internal
 */
export class RunEvents implements EventSink {
  readonly #events = new Subject<ExecutionEvent>();
  readonly #executor: Subject<ExecutionEvent>;
  readonly #table: StatusTable;
  readonly #listeners = new Set<Subscriber<Progress>>();
  #last: Progress | undefined;
  /** The highest level announced (`level.started`); -1 before the first. */
  #announced = -1;
  /** When each announced level was announced, and the run's ids: a late subscriber's headers. */
  readonly #announcedAt: number[] = [];
  #ids: { queryId: string; runId: string } | undefined;
  #retries = 0;
  /** Fragments the run left unsettled when it ended: never runnable (skipped) or stopped. */
  #endSkipped = 0;
  #cancelled = 0;
  #done = false;
  #ok = false;
  #finished = false;
  readonly events$: Observable<ExecutionEvent>;
  readonly progress$: Observable<Progress>;

  constructor(table: StatusTable, executor: Subject<ExecutionEvent>) {
    this.#table = table;
    this.#executor = executor;
    this.events$ = new Observable<ExecutionEvent>((subscriber) => {
      // After the run's end the subject completes the subscriber at once: nothing is replayed.
      if (!this.#finished) for (const header of this.#openHeaders()) subscriber.next(header);
      return this.#events.subscribe(subscriber);
    });
    this.progress$ = new Observable<Progress>((subscriber) => {
      // Kept as the value the next change is compared with: were it left unset, that change
      // would be compared with itself and never reach this subscriber.
      const first = (this.#last ??= this.#current());
      subscriber.next(first);
      if (this.#finished) {
        subscriber.complete();
        return undefined;
      }
      this.#listeners.add(subscriber);
      return () => this.#listeners.delete(subscriber);
    });
  }

  get wanted(): boolean {
    return this.#events.observed || this.#executor.observed;
  }

  /** Sends `event`; a fragment's event of a level not announced yet is preceded by that level's `level.started`. */
  emit(event: ExecutionEvent): void {
    if ('fragmentId' in event && event.level > this.#announced) this.levelsStarted(event.level, event);
    this.#send(event);
  }

  #send(event: ExecutionEvent): void {
    this.#events.next(event);
    this.#executor.next(event);
  }

  /** Retries decided so far. */
  get retries(): number {
    return this.#retries;
  }

  retried(): void {
    this.#retries++;
    this.progressed();
  }

  /**
   * Announces every level up to `level` not announced yet, lowest first, once each: a
   * `level.started` with the level's fragment count, stamped with `stamp`'s ids and time. A
   * level is announced as the machine enters its state or, first, by the first event of one of
   * its fragments (under `eager` one may be taken while the state names a lower level; a
   * fragment skipped or cancelled before its level's state is entered has an event too).
   * Announcing a level announces those below it not announced yet (a fragment skipped in
   * level 2 may come before one skipped in level 1), so the headers stay in order.
   */
  levelsStarted(level: number, stamp: { queryId: string; runId: string; at: number }): void {
    while (this.#announced < level) {
      const started = ++this.#announced;
      this.#announcedAt[started] = stamp.at;
      this.#ids ??= { queryId: stamp.queryId, runId: stamp.runId };
      if (!this.wanted) continue;
      const fragments = this.#table.prepared.levelSizes[started]!;
      this.#send({ type: 'level.started', queryId: stamp.queryId, runId: stamp.runId, at: stamp.at, level: started, fragments });
    }
  }

  /**
   * What a subscriber joining mid-run is told first, so each fragment event it gets comes
   * under its level's header: the `level.started` of every level announced and still open
   * (a fragment not finished), lowest first, as they were sent (same `at` and count). Levels
   * already finished have no event left to head; nothing is replayed but these headers.
   */
  *#openHeaders(): Generator<ExecutionEvent> {
    const ids = this.#ids;
    if (ids === undefined) return;
    const levels = this.#table.levels;
    for (let level = levels.lowestOpen(); level <= this.#announced; level++) {
      if (!levels.isOpen(level)) continue;
      yield { type: 'level.started', ...ids, at: this.#announcedAt[level]!, level, fragments: this.#table.prepared.levelSizes[level]! };
    }
  }

  /** Something a `Progress` shows may have changed: tell its subscribers, if any. */
  progressed(): void {
    if (this.#listeners.size === 0) {
      this.#last = undefined;
      return;
    }
    const last = this.#last ?? this.#current();
    const next = this.#current();
    if (last === next || !changed(last, next)) {
      this.#last = last;
      return;
    }
    this.#last = next;
    // Over a copy: a subscriber added by one of these callbacks got `next` as its first value.
    for (const l of Array.from(this.#listeners)) l.next(next);
  }

  /** The run ended with these fragments unsettled (see `settleUnfinished`); `finish` follows. */
  unsettled(skipped: number, cancelled: number): void {
    this.#endSkipped = skipped;
    this.#cancelled = cancelled;
  }

  /** The run ended: the last progress, then both streams complete. */
  finish(ok: boolean): void {
    this.#done = true;
    this.#ok = ok;
    this.progressed();
    this.#finished = true;
    for (const l of this.#listeners) l.complete();
    this.#listeners.clear();
    this.#events.complete();
  }

  #current(): Progress {
    const c = this.#table.counts();
    const skipped = c.skipped + this.#endSkipped;
    const finished = c.succeeded + c.failed + skipped;
    // Never 100 before the merge is done: the last percent belongs to query.done.
    const percent = this.#ok ? 100 : c.total === 0 ? 0 : Math.min(99, Math.floor((finished / c.total) * 100));
    return {
      total: c.total,
      succeeded: c.succeeded,
      failed: c.failed,
      cached: c.cached,
      skipped,
      cancelled: this.#cancelled,
      running: this.#done ? 0 : c.running,
      level: this.#table.levels.level(this.#ok),
      percent: Math.max(this.#last?.percent ?? 0, percent),
      retries: this.#retries,
      done: this.#done,
    };
  }
}

function changed(a: Progress, b: Progress): boolean {
  return (
    a.succeeded !== b.succeeded ||
    a.failed !== b.failed ||
    a.cached !== b.cached ||
    a.skipped !== b.skipped ||
    a.cancelled !== b.cancelled ||
    a.running !== b.running ||
    a.level !== b.level ||
    a.percent !== b.percent ||
    a.retries !== b.retries ||
    a.done !== b.done ||
    a.total !== b.total
  );
}
