import type { ValidatedPlan } from '../plan/index.js';

/**
 * The query machine's scheduling book-keeping, kept so that every event costs O(its own
 * fragment and dependents) rather than a scan of the whole plan: how many dependencies each
 * fragment still waits for, which fragments are ready, and how many are still open per
 * level. Plain data, so it lives in the machine's context; the machine updates it in place
 * (copying it on every event made a 10,000-fragment plan quadratic).
 */
export interface Scheduling {
  /** Dependencies not yet succeeded, per fragment. */
  waiting: Record<string, number>;
  /** Per level, fragments whose dependencies have all succeeded and that have not been started. */
  ready: string[][];
  /** Per level, how many of `ready` have been taken (a queue head, so taking is O(1)). */
  taken: number[];
  /** Fragments not yet finished (succeeded, failed or skipped), per level. */
  open: number[];
  /** Fragments already counted as finished. */
  finished: Record<string, true>;
  /** Fragment actors spawned and not yet finished. */
  active: number;
}

/** The book of a plan that has not started: roots are ready. */
export function initialScheduling(plan: ValidatedPlan): Scheduling {
  const waiting: Record<string, number> = Object.create(null) as Record<string, number>;
  const ready: string[][] = plan.levels.map(() => []);
  for (const f of plan.fragments) {
    const n = new Set(f.dependsOn ?? []).size;
    waiting[f.id] = n;
    if (n === 0) ready[0]!.push(f.id);
  }
  return {
    waiting,
    ready,
    taken: plan.levels.map(() => 0),
    open: plan.levels.map((ids) => ids.length),
    finished: Object.create(null) as Record<string, true>,
    active: 0,
  };
}

/** Counts a fragment as finished once, at its level (`spawned`: it had an actor). */
export function markFinished(book: Scheduling, id: string, level: number, spawned = true): void {
  if (book.finished[id]) return;
  book.finished[id] = true;
  book.open[level] = (book.open[level] ?? 1) - 1;
  if (spawned) book.active--;
}

/** A fragment succeeded: its dependents wait for one dependency less. */
export function releaseDependents(book: Scheduling, plan: ValidatedPlan, id: string): void {
  for (const dependent of plan.dependents.get(id) ?? []) {
    const left = (book.waiting[dependent] ?? 1) - 1;
    book.waiting[dependent] = left;
    if (left === 0) book.ready[plan.levelOf.get(dependent) ?? 0]!.push(dependent);
  }
}

/**
 * Removes and returns the ready fragments that may start now, at most `window` actors
 * alive at once. XState copies an actor's children map on every spawn and stop, so ten
 * thousand live children would make a plan quadratic; the lanes cap what runs anyway, so
 * a window a few times their size loses no parallelism.
 */
export function takeReady(book: Scheduling, schedule: 'levels' | 'eager', level: number, window = Infinity): string[] {
  let room = window - book.active;
  const now: string[] = [];
  // Lowest levels first: with `levels` only up to the current one, with `eager` any.
  const top = schedule === 'eager' ? book.ready.length - 1 : Math.min(level, book.ready.length - 1);
  for (let l = 0; l <= top && room > 0; l++) {
    const queue = book.ready[l]!;
    while (book.taken[l]! < queue.length && room > 0) {
      now.push(queue[book.taken[l]!]!);
      book.taken[l]!++;
      room--;
    }
  }
  book.active += now.length;
  return now;
}

/** True when every fragment at or below `level` has finished. */
export function levelFinished(book: Scheduling, level: number): boolean {
  for (let l = 0; l <= level; l++) if ((book.open[l] ?? 0) > 0) return false;
  return true;
}

/** Every fragment downstream of `id`, transitively, in breadth-first order. */
export function downstream(plan: ValidatedPlan, id: string): string[] {
  const seen = new Set<string>();
  const queue = [id];
  for (let i = 0; i < queue.length; i++) {
    for (const dependent of plan.dependents.get(queue[i]!) ?? []) {
      if (seen.has(dependent)) continue;
      seen.add(dependent);
      queue.push(dependent);
    }
  }
  return [...seen];
}
