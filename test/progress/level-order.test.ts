import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, createVirtualClock, memorySource, progressFrom, type Executor, type Progress, type VirtualClock } from '../../src/index.js';
import { delayedSource } from '../support/delayed-source.js';
import { sortRows } from '../support/engine.js';
import { announced, distinct, timeline, unannounced, watchLevels } from '../support/level-watch.js';

const tables = {
  customers: [{ id: 1 }, { id: 2 }],
  audits: [{ customer_id: 1, note: 'checked' }],
  orders: [{ id: 10, customer_id: 1 }, { id: 11, customer_id: 2 }],
  lines: [{ order_id: 10, product_id: 100 }, { order_id: 11, product_id: 101 }],
  notes: [{ order_id: 10, text: 'gift' }],
  products: [{ id: 100, name: 'lamp' }, { id: 101, name: 'desk' }, { id: 102, name: 'chair' }],
};
/** Per table, how long its calls take on the virtual clock: `audits` (level 1) is the slow one. */
const DELAY: Record<string, number> = { customers: 10, audits: 500, orders: 10, lines: 10, notes: 20, products: 10 };

/** Each fragment's level, as the plan's dependencies make it (the oracle's own copy). */
const LEVEL: Record<string, number> = { customers: 0, slow: 1, fast: 1, lines: 2, notes: 2, top: 3 };

const from = (fragment: string, column: string) => ({ $from: fragment, column });

/**
 * customers → slow (500 ms) ─────────────┐
 *           → fast → lines ──────────────┴→ top
 *                  → notes
 * Under eager, level 2 (lines, notes) runs and finishes while level 1's `slow` still runs.
 */
const plan = (schedule: 'eager' | 'levels', opts: { rootTable?: string; fastTable?: string; errorPolicy?: 'partial' | 'fail-fast' } = {}) => ({
  id: `levels-${schedule}`,
  fragments: [
    { id: 'customers', source: 'ref', query: { table: opts.rootTable ?? 'customers' } },
    { id: 'slow', source: 'ref', dependsOn: ['customers'], query: { table: 'audits', where: { in: ['customer_id', from('customers', 'id')] } } },
    { id: 'fast', source: 'ref', dependsOn: ['customers'], query: { table: opts.fastTable ?? 'orders', where: { in: ['customer_id', from('customers', 'id')] } } },
    { id: 'lines', source: 'ref', dependsOn: ['fast'], query: { table: 'lines', where: { in: ['order_id', from('fast', 'id')] } } },
    { id: 'notes', source: 'ref', dependsOn: ['fast'], query: { table: 'notes', where: { in: ['order_id', from('fast', 'id')] } } },
    { id: 'top', source: 'ref', dependsOn: ['lines', 'slow'], query: { table: 'products', where: { in: ['id', from('lines', 'product_id')] } } },
  ],
  schedule,
  errorPolicy: opts.errorPolicy ?? 'fail-fast',
});

/** Runs `p`, watching its events and progress (see `watchLevels`), with the virtual clock moved on until it is over. */
async function watchRun(executor: Executor, clock: VirtualClock, p: ReturnType<typeof plan>) {
  const run = executor.run(p);
  const w = watchLevels(run, LEVEL);
  await clock.advanceAsync(2_000);
  return { w, result: await run.result };
}

describe('level.started comes before its level\'s fragments, and Progress.level is the lowest unfinished level', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  const start = (cache = false) => {
    const clock = createVirtualClock();
    const ref = delayedSource(memorySource({ tables }), clock, (q) => DELAY[q.table] ?? 10);
    executor = createExecutor({ sources: { ref }, cache: cache ? {} : false, clock });
    return { executor, clock };
  };

  it('under eager, level 2 runs and finishes while level 1\'s slow fragment runs: each level is announced before its first fragment event', async () => {
    const { executor, clock } = start();
    const { w, result } = await watchRun(executor, clock, plan('eager'));
    expect(result.status).toBe('ok');
    expect(sortRows(result.rows)).toEqual(sortRows([{ id: 100, name: 'lamp' }, { id: 101, name: 'desk' }]));
    // The overlap this is about: level 2 settled while the machine was in level 1's state, before `slow`.
    expect(w.stateAt.lines).toBe('executing-level-1');
    expect(w.stateAt.notes).toBe('executing-level-1');
    expect(w.stateAt.slow).toBe('executing-level-1');
    const lines = timeline(w.events);
    expect(lines.indexOf('succeeded notes')).toBeLessThan(lines.indexOf('succeeded slow'));
    expect(unannounced(w.events)).toEqual([]);
    expect(announced(w.events)).toEqual([[0, 1], [1, 2], [2, 2], [3, 1]]);
    expect(lines).toEqual([
      'level 0', 'queued customers', 'succeeded customers',
      'level 1', 'queued slow', 'queued fast', 'succeeded fast',
      'level 2', 'queued lines', 'queued notes', 'succeeded lines', 'succeeded notes',
      'succeeded slow',
      'level 3', 'queued top', 'succeeded top',
    ]);
  });

  it('under eager, run.progress$ and progressFrom(events$) name the same levels: the lowest unfinished, jumping past a level that finished early', async () => {
    const { executor, clock } = start();
    const { w } = await watchRun(executor, clock, plan('eager'));
    // Level 2 finished while level 1 ran: when `slow` settles, the lowest unfinished level is 3.
    expect(distinct(w.executor.map((v) => v.level))).toEqual([0, 1, 3]);
    expect(distinct(w.fromEvents.map((v) => v.level))).toEqual([0, 1, 3]);
    for (const v of w.executor) expect(v.level).toBe(v.oracle);
    for (const v of w.fromEvents) expect(v.level).toBe(v.oracle);
    expect(w.last.executor).toEqual(w.last.fromEvents);
    expect(w.last.executor).toMatchObject({ level: 3, succeeded: 6, percent: 100, done: true });
  });

  it('under levels, the order is as it was: each level announced as its state is entered, then its fragments', async () => {
    const { executor, clock } = start();
    const { w, result } = await watchRun(executor, clock, plan('levels'));
    expect(result.status).toBe('ok');
    expect(sortRows(result.rows)).toEqual(sortRows([{ id: 100, name: 'lamp' }, { id: 101, name: 'desk' }]));
    expect(unannounced(w.events)).toEqual([]);
    expect(timeline(w.events)).toEqual([
      'level 0', 'queued customers', 'succeeded customers',
      'level 1', 'queued slow', 'queued fast', 'succeeded fast', 'succeeded slow',
      'level 2', 'queued lines', 'queued notes', 'succeeded lines', 'succeeded notes',
      'level 3', 'queued top', 'succeeded top',
    ]);
    expect(distinct(w.executor.map((v) => v.level))).toEqual([0, 1, 2, 3]);
    expect(distinct(w.fromEvents.map((v) => v.level))).toEqual([0, 1, 2, 3]);
    for (const v of [...w.executor, ...w.fromEvents]) expect(v.level).toBe(v.oracle);
    expect(w.last.executor).toEqual(w.last.fromEvents);
  });

  it('under eager, a run answered from the cache in the dispatching step announces each level before its fragments', async () => {
    const { executor, clock } = start(true);
    await watchRun(executor, clock, plan('eager'));
    const { w } = await watchRun(executor, clock, plan('eager'));
    expect(w.events.filter((e) => e.type === 'fragment.cached')).toHaveLength(6);
    expect(unannounced(w.events)).toEqual([]);
    expect(announced(w.events)).toEqual([[0, 1], [1, 2], [2, 2], [3, 1]]);
    // Hits are settled after the step emitted their events: the executor's values may lag the events, never differ in sequence.
    expect(distinct(w.executor.map((v) => v.level))).toEqual(distinct(w.fromEvents.map((v) => v.level)));
    for (const v of w.fromEvents) expect(v.level).toBe(v.oracle);
    expect(w.last.executor).toEqual(w.last.fromEvents);
  });

  it.each(['levels', 'eager'] as const)('under %s and partial, fragments skipped before their level\'s state is entered have their level announced first', async (schedule) => {
    const { executor, clock } = start();
    // `fast` reads a table the source does not have: lines, notes (level 2) and top (level 3) are skipped while level 1's `slow` still runs.
    const { w, result } = await watchRun(executor, clock, plan(schedule, { fastTable: 'missing', errorPolicy: 'partial' }));
    expect(result.status).toBe('partial');
    expect(w.events.filter((e) => e.type === 'fragment.skipped').map((e) => e.fragmentId).sort()).toEqual(['lines', 'notes', 'top']);
    expect(unannounced(w.events)).toEqual([]);
    expect(announced(w.events)).toEqual([[0, 1], [1, 2], [2, 2], [3, 1]]);
    const lines = timeline(w.events);
    // Announced with the skips, while `slow` (level 1) still ran: before, level 2 came only when its state was entered.
    expect(lines.indexOf('level 2')).toBeLessThan(lines.indexOf('succeeded slow'));
    // When `slow` succeeds every fragment has finished; its success opens level 2 (levels 2 and 3
    // were skipped, so they open nothing), and query.done then names the last level.
    expect(distinct(w.executor.map((v) => v.level))).toEqual([0, 1, 2, 3]);
    expect(distinct(w.fromEvents.map((v) => v.level))).toEqual([0, 1, 2, 3]);
    for (const v of w.fromEvents) expect(v.level).toBe(v.oracle);
    expect(w.last.executor).toEqual(w.last.fromEvents);
  });

  it('under eager and fail-fast, a run stopped in level 1 announces the levels of its skipped fragments, and its progress stays at level 1', async () => {
    const { executor, clock } = start();
    const { w, result } = await watchRun(executor, clock, plan('eager', { fastTable: 'missing' }));
    expect(result.status).toBe('failed');
    expect(result.fragments.slow?.status).toBe('cancelled');
    expect(w.events.filter((e) => e.type === 'fragment.cancelled').map((e) => e.fragmentId)).toEqual(['slow']);
    expect(unannounced(w.events)).toEqual([]);
    expect(announced(w.events)).toEqual([[0, 1], [1, 2], [2, 2], [3, 1]]);
    // `slow` never finished (cancelled): the run stopped in level 1, whatever above it was skipped.
    expect(distinct(w.executor.map((v) => v.level))).toEqual([0, 1]);
    expect(distinct(w.fromEvents.map((v) => v.level))).toEqual([0, 1]);
    for (const v of w.fromEvents) expect(v.level).toBe(v.oracle);
    expect(w.last.executor).toEqual(w.last.fromEvents);
    expect(w.last.executor).toMatchObject({ level: 1, succeeded: 1, failed: 1, skipped: 3, cancelled: 1, done: true });
  });

  it.each(['levels', 'eager'] as const)('under %s and fail-fast, a run whose level-0 fragment fails stays at level 0 though every level above it was skipped', async (schedule) => {
    const { executor, clock } = start();
    const { w, result } = await watchRun(executor, clock, plan(schedule, { rootTable: 'missing' }));
    expect(result.status).toBe('failed');
    expect(w.last.executor).toMatchObject({ failed: 1, skipped: 5, done: true });
    // Every fragment has finished (one failed, five skipped): the lowest unfinished level would be
    // the last, 3 — a CLI bar reading "level 4/4" for a run that never left level 0.
    expect(distinct(w.executor.map((v) => v.level))).toEqual([0]);
    expect(distinct(w.fromEvents.map((v) => v.level))).toEqual([0]);
    for (const v of [...w.executor, ...w.fromEvents]) expect(v.level).toBe(v.oracle);
    expect(w.last.executor).toEqual(w.last.fromEvents);
  });

  it('under fail-fast, fragments skipped in plan order, a higher level first, still have their levels announced lowest first', async () => {
    const { executor, clock } = start();
    // Listed before the fragment it depends on: the run's end skips `deep` (level 2) before `mid` (level 1).
    const run = executor.run({
      id: 'skip-order',
      fragments: [
        { id: 'root', source: 'ref', query: { table: 'missing' } },
        { id: 'deep', source: 'ref', dependsOn: ['mid'], query: { table: 'products' } },
        { id: 'mid', source: 'ref', dependsOn: ['root'], query: { table: 'orders' } },
      ],
      errorPolicy: 'fail-fast',
    });
    const w = watchLevels(run, { root: 0, mid: 1, deep: 2 });
    await clock.advanceAsync(100);
    expect((await run.result).status).toBe('failed');
    expect(w.events.filter((e) => e.type === 'fragment.skipped').map((e) => e.fragmentId)).toEqual(['deep', 'mid']);
    expect(unannounced(w.events)).toEqual([]);
    expect(announced(w.events)).toEqual([[0, 1], [1, 1], [2, 1]]);
    // It failed in level 0: the skipped levels above it finish, but they do not move it.
    expect(w.last.executor).toMatchObject({ level: 0, failed: 1, skipped: 2, done: true });
    expect(w.last.fromEvents).toEqual(w.last.executor);
  });

  it('progressFrom joined mid-run starts at the open level it is told of first, passes over those finished before it joined, and ends on the last level', async () => {
    const { executor, clock } = start();
    const run = executor.run(plan('levels'));
    const own: Progress[] = [];
    run.progress$.subscribe((v) => own.push(v));
    const join = () => {
      const seen: Progress[] = [];
      progressFrom(run.events$, 6).subscribe((v) => seen.push(v));
      return seen;
    };
    // At 515 ms level 2 runs (level.started 2 went out at 510 ms, when `slow` settled); at 535 ms level 3's `top` does.
    await clock.advanceAsync(515);
    expect(own.at(-1)?.level).toBe(2);
    const inLevel2 = join();
    await clock.advanceAsync(20);
    expect(own.at(-1)?.level).toBe(3);
    const inLevel3 = join();
    await clock.advanceAsync(2_000);
    expect((await run.result).status).toBe('ok');
    // Joined in level 2, it is first told level 2's header (the open level), so it names level 2 as the
    // run's own progress does, then 3; levels 0–1, finished, are taken as such.
    expect(distinct(inLevel2.map((v) => v.level))).toEqual([0, 2, 3]);
    // Joined in level 3, it is told level 3's header at once.
    expect(distinct(inLevel3.map((v) => v.level))).toEqual([0, 3]);
    for (const seen of [inLevel2, inLevel3]) expect(seen.at(-1)).toMatchObject({ level: own.at(-1)!.level, percent: 100, done: true });
  });

  it('under eager, a recorded run\'s replay gives the same events in the same order, each level announced before its fragments', async () => {
    const { executor, clock } = start();
    const run = executor.run(plan('eager'), { record: true });
    const w = watchLevels(run, LEVEL);
    await clock.advanceAsync(2_000);
    expect((await run.result).status).toBe('ok');
    const replayer = createExecutor();
    try {
      const replay = replayer.replay(JSON.stringify(run.recording()));
      const r = watchLevels(replay, LEVEL);
      expect((await replay.result).status).toBe('ok');
      expect(unannounced(r.events)).toEqual([]);
      expect(timeline(r.events)).toEqual(timeline(w.events));
      expect(r.events.map((e) => e.type)).toEqual(w.events.map((e) => e.type));
      expect(distinct(r.fromEvents.map((v) => v.level))).toEqual([0, 1, 3]);
      expect(distinct(r.executor.map((v) => v.level))).toEqual([0, 1, 3]);
    } finally {
      await replayer.close();
    }
  });
});
