import { progressFrom, type ExecutionEvent, type Progress, type QueryRun } from '../../src/index.js';

const TERMINAL = new Set(['fragment.succeeded', 'fragment.failed', 'fragment.skipped', 'fragment.dropped']);

/**
 * The oracle for `Progress.level`: the lowest level (by `levelOf`, the test's own copy of the
 * plan's levels) with a fragment no terminal event has finished yet; the last once all have —
 * but, until `query.done`, never above the highest level the outcomes opened — one past a success, a failure's or
 * a drop's own (a fail-fast run stopped low, its upper levels skipped, stays where it stopped).
 */
export function lowestUnfinished(events: readonly ExecutionEvent[], levelOf: Readonly<Record<string, number>>): number {
  const finished = new Set(events.flatMap((e) => (TERMINAL.has(e.type) && 'fragmentId' in e ? [e.fragmentId] : [])));
  const ran = events.flatMap((e) => (e.type === 'fragment.succeeded' ? [levelOf[e.fragmentId]! + 1] : e.type === 'fragment.failed' || e.type === 'fragment.dropped' ? [levelOf[e.fragmentId]!] : []));
  const open = Object.keys(levelOf).filter((id) => !finished.has(id)).map((id) => levelOf[id]!);
  const lowest = open.length === 0 ? Math.max(...Object.values(levelOf)) : Math.min(...open);
  if (events.some((e) => e.type === 'query.done')) return lowest;
  return Math.min(lowest, Math.max(0, ...ran));
}

/** Events of a fragment whose level had not been announced (`level.started`) before them: none is allowed. */
export function unannounced(events: readonly ExecutionEvent[]): string[] {
  const started = new Set<number>();
  const out: string[] = [];
  for (const e of events) {
    if (e.type === 'level.started') started.add(e.level);
    else if ('fragmentId' in e && !started.has(e.level)) out.push(`${e.type} ${e.fragmentId} (level ${e.level})`);
  }
  return out;
}

/** `level N`, and each fragment's queued and succeeded, in the order events$ gave them. */
export function timeline(events: readonly ExecutionEvent[]): string[] {
  return events.flatMap((e) => {
    if (e.type === 'level.started') return [`level ${e.level}`];
    if (e.type === 'fragment.queued' || e.type === 'fragment.succeeded') return [`${e.type.slice('fragment.'.length)} ${e.fragmentId}`];
    return [];
  });
}

/** Each level `level.started` announced, with its fragment count, in order. */
export const announced = (events: readonly ExecutionEvent[]): [number, number][] => events.flatMap((e) => (e.type === 'level.started' ? [[e.level, e.fragments] as [number, number]] : []));

/** The values of a sequence without their consecutive repeats. */
export const distinct = (levels: number[]): number[] => levels.filter((l, i) => i === 0 || l !== levels[i - 1]);

/** What `watchLevels` saw of a run. */
export interface LevelWatch {
  events: ExecutionEvent[];
  /** Per fragment that succeeded, the query machine's state as its event went out. */
  stateAt: Record<string, string>;
  /** Each value of run.progress$ and of progressFrom(events$): its level, and the oracle's at that moment. */
  executor: { level: number; oracle: number }[];
  fromEvents: { level: number; oracle: number }[];
  last: { executor?: Progress; fromEvents?: Progress };
}

/** Watches `run`'s events (subscribed first), progressFrom(events$) and run.progress$, against the levels in `levelOf`. */
export function watchLevels(run: QueryRun, levelOf: Readonly<Record<string, number>>): LevelWatch {
  const w: LevelWatch = { events: [], stateAt: {}, executor: [], fromEvents: [], last: {} };
  run.events$.subscribe((e) => {
    w.events.push(e);
    if (e.type === 'fragment.succeeded') w.stateAt[e.fragmentId] = String(run.actor.getSnapshot().value);
  });
  progressFrom(run.events$, Object.keys(levelOf).length).subscribe((v) => {
    w.fromEvents.push({ level: v.level, oracle: lowestUnfinished(w.events, levelOf) });
    w.last.fromEvents = v;
  });
  run.progress$.subscribe((v) => {
    w.executor.push({ level: v.level, oracle: lowestUnfinished(w.events, levelOf) });
    w.last.executor = v;
  });
  return w;
}
