import { Observable } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { createExecutor, createQueryMachine, memorySource, validatePlan, type Executor, type ExecutionEvent, type QueryRun } from '../../src/index.js';
import { collectEvents, ofType, testSource, until, type TestSource } from '../support/engine.js';

type Snapshot = ReturnType<QueryRun['actor']['getSnapshot']>;

/** Records every snapshot the actor emits (subscribe right after run(): the actor starts on a microtask). */
function recordSnapshots(run: QueryRun): Snapshot[] {
  const snapshots: Snapshot[] = [];
  run.actor.subscribe((s) => snapshots.push(s));
  return snapshots;
}

function dedupe<T>(values: T[]): T[] {
  return values.filter((v, i) => i === 0 || v !== values[i - 1]);
}

/** True if any object in `value` (recursively) has the key `key`. */
function hasKey(value: unknown, key: string): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Object.prototype.hasOwnProperty.call(value, key)) return true;
  return Object.values(value).some((v) => hasKey(v, key));
}

describe('query machine', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  // Row values no metadata could contain by accident.
  const marker = (i: number) => `ROW-VALUE-${i}-7f3a9c`;
  const threeLevels = {
    id: 'three-levels',
    fragments: [
      { id: 'alpha', source: 'mem', query: { table: 'a' } },
      { id: 'beta', source: 'ctl', dependsOn: ['alpha'], query: { key: 'beta', params: [{ $from: 'alpha', column: 'k' }] } },
      { id: 'gamma', source: 'ctl', dependsOn: ['alpha'], query: { key: 'gamma' } },
      { id: 'delta', source: 'ctl', dependsOn: ['beta', 'gamma'], query: { key: 'delta' } },
    ],
    merge: { op: 'union', inputs: ['alpha', 'beta', 'gamma', 'delta'] },
  };

  function setup(): TestSource {
    const ctl = testSource();
    executor = createExecutor({
      sources: { mem: memorySource({ tables: { a: [{ k: marker(0) }, { k: marker(1) }] } }), ctl: ctl.source },
      cache: false,
    });
    return ctl;
  }

  it('goes planned → executing-level-0 → 1 → 2 → merging → done, with one child actor per fragment named by its id, and no rows in any snapshot', async () => {
    const ctl = setup();
    const run = executor!.run(threeLevels);
    const snapshots = recordSnapshots(run);

    // Level 1: beta and gamma are running as children with their fragment ids.
    await ctl.waitForCalls(2);
    let snap = run.actor.getSnapshot();
    expect(snap.value).toBe('executing-level-1');
    expect(Object.keys(snap.children)).toEqual(expect.arrayContaining(['beta', 'gamma']));
    for (const [key, child] of Object.entries(snap.children)) expect(child?.id).toBe(key);
    expect(Object.keys(snap.children).every((id) => id in snap.context.fragments)).toBe(true);
    expect(snap.children.beta?.id).toBe('beta');
    expect(snap.children.gamma?.id).toBe('gamma');
    expect(snap.children.delta).toBeUndefined();
    expect(snap.context.fragments.beta!.status).toBe('running');
    expect(snap.context.fragments.delta!.status).toBe('pending');
    ctl.calls.find((c) => c.key === 'beta')!.resolve([{ k: marker(2) }]);
    ctl.calls.find((c) => c.key === 'gamma')!.resolve([{ k: marker(3) }]);

    // Level 2: delta runs as a child named delta.
    await ctl.waitForCalls(3);
    snap = run.actor.getSnapshot();
    expect(snap.value).toBe('executing-level-2');
    expect(snap.children.delta?.id).toBe('delta');
    // Not even the persisted snapshot (children included) carries rows.
    const persisted = JSON.stringify(run.actor.getPersistedSnapshot());
    for (let i = 0; i <= 3; i++) expect(persisted).not.toContain(marker(i));
    ctl.calls.find((c) => c.key === 'delta')!.resolve([{ k: marker(4) }]);

    const result = await run.result;
    expect(result.rows.map((r) => r.k)).toEqual([0, 1, 2, 3, 4].map(marker));
    expect(dedupe(snapshots.map((s) => s.value))).toEqual(['planned', 'executing-level-0', 'executing-level-1', 'executing-level-2', 'merging', 'done']);

    // Rows live outside the snapshots: no row value and no `rows` key in any context.
    expect(snapshots.length).toBeGreaterThan(6);
    for (const s of snapshots) {
      const json = JSON.stringify(s.context);
      for (let i = 0; i <= 4; i++) expect(json).not.toContain(marker(i));
      expect(hasKey(s.context, 'rows')).toBe(false);
    }
    const final = run.actor.getSnapshot();
    expect(final.status).toBe('done');
    expect(final.context.fragments.delta).toMatchObject({ status: 'succeeded', rowCount: 1, level: 2, source: 'ctl' });
    expect(final.context.rowCount).toBe(5);
  });

  it('has one state per level, named executing-level-N, in the machine definition', () => {
    const plan = validatePlan(threeLevels);
    const machine = createQueryMachine(plan, { runFragment: () => new Observable(), merge: () => Promise.resolve(0), emit: () => undefined, now: () => 0 });
    expect(Object.keys(machine.states)).toEqual(['planned', 'executing-level-0', 'executing-level-1', 'executing-level-2', 'merging', 'done', 'failed']);
  });

  it('stops every child on failure, which unsubscribes (aborts) their pipelines', async () => {
    const plan = validatePlan({
      fragments: [
        { id: 'a', source: 's', query: {} },
        { id: 'b', source: 's', query: {} },
      ],
      merge: { op: 'union', inputs: ['a', 'b'] },
    });
    const torn: string[] = [];
    const emitted: ExecutionEvent[] = [];
    let failA!: () => void;
    const machine = createQueryMachine(plan, {
      runFragment: (id) =>
        new Observable((sub) => {
          if (id === 'a') {
            failA = () =>
              sub.next({ type: 'fragment.failed', fragmentId: 'a', source: 's', level: 0, queryId: plan.id, at: 1, attempts: 1, startedAt: 0, durationMs: 1, error: { code: 'FRAGMENT_FAILED', message: 'no' } as never });
          }
          return () => torn.push(id);
        }),
      merge: () => Promise.resolve(0),
      emit: (e) => emitted.push(e),
      now: () => 0,
    });
    const actor = createActor(machine).start();
    actor.send({ type: 'query.start' });
    expect(Object.keys(actor.getSnapshot().children).sort()).toEqual(['a', 'b']);
    failA();
    expect(actor.getSnapshot().value).toBe('failed');
    expect(actor.getSnapshot().context.failure).toEqual({ code: 'FRAGMENT_FAILED', message: 'no', fragmentId: 'a' });
    expect(torn.sort()).toEqual(['a', 'b']);
    expect(emitted.map((e) => e.type)).toEqual(['level.started', 'fragment.failed']);
  });

  /** root → slow, root → fast → leaf: `leaf` (level 2) can start while `slow` (level 1) runs. */
  const slowSiblingPlan = (schedule: 'eager' | 'levels') => ({
    fragments: [
      { id: 'root', source: 'ctl', query: { key: 'root' } },
      { id: 'slow', source: 'ctl', dependsOn: ['root'], query: { key: 'slow' } },
      { id: 'fast', source: 'ctl', dependsOn: ['root'], query: { key: 'fast' } },
      { id: 'leaf', source: 'ctl', dependsOn: ['fast'], query: { key: 'leaf' } },
    ],
    merge: { op: 'union', inputs: ['slow', 'leaf'] },
    schedule,
  });

  it('eager scheduling starts a level-2 fragment before a slow level-1 sibling finishes', async () => {
    const ctl = testSource({ behaviour: (c) => (c.key === 'slow' ? undefined : [{ k: c.key }]) });
    executor = createExecutor({ sources: { ctl: ctl.source }, cache: false });
    const run = executor.run(slowSiblingPlan('eager'));
    const events = collectEvents(run);
    await until(() => ofType(events, 'fragment.succeeded').some((e) => e.fragmentId === 'leaf'), 'leaf to finish');
    // The state names the lowest level still running.
    expect(run.actor.getSnapshot().value).toBe('executing-level-1');
    ctl.calls.find((c) => c.key === 'slow')!.resolve([{ k: 'slow' }]);
    const result = await run.result;

    const order = events.filter((e) => e.type === 'fragment.started' || e.type === 'fragment.succeeded').map((e) => `${e.type.slice(9)} ${(e as { fragmentId: string }).fragmentId}`);
    expect(order.indexOf('started leaf')).toBeGreaterThan(-1);
    expect(order.indexOf('started leaf')).toBeLessThan(order.indexOf('succeeded slow'));
    expect(ofType(events, 'fragment.started').map((e) => e.fragmentId)).toEqual(['root', 'slow', 'fast', 'leaf']);
    expect(result.rows.map((r) => r.k)).toEqual(['slow', 'leaf']);
  });

  it('level scheduling waits for the whole level before starting the next', async () => {
    const ctl = testSource({ behaviour: (c) => (c.key === 'slow' ? undefined : [{ k: c.key }]) });
    executor = createExecutor({ sources: { ctl: ctl.source }, cache: false });
    const run = executor.run(slowSiblingPlan('levels'));
    const events = collectEvents(run);
    await until(() => ofType(events, 'fragment.succeeded').some((e) => e.fragmentId === 'fast'), 'fast to finish');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ctl.calls.map((c) => c.key)).toEqual(['root', 'slow', 'fast']);
    expect(run.actor.getSnapshot().value).toBe('executing-level-1');
    ctl.calls.find((c) => c.key === 'slow')!.resolve([{ k: 'slow' }]);
    await run.result;

    const order = events.filter((e) => e.type === 'fragment.started' || e.type === 'fragment.succeeded').map((e) => `${e.type.slice(9)} ${(e as { fragmentId: string }).fragmentId}`);
    expect(order.indexOf('started leaf')).toBeGreaterThan(order.indexOf('succeeded slow'));
  });

  it('ends in failed with failure CANCELLED when cancelled, and stops its children', async () => {
    const ctl = setup();
    const run = executor!.run(threeLevels);
    const snapshots = recordSnapshots(run);
    await ctl.waitForCalls(2);
    run.cancel('enough');
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    const last = snapshots[snapshots.length - 1]!;
    expect(last.value).toBe('failed');
    expect(last.context.failure).toEqual({ code: 'CANCELLED', message: 'the query was cancelled: enough' });
    expect(ctl.calls.every((c) => c.signal.aborted)).toBe(true);
  });
});

describe('query machine at scale', () => {
  it('keeps at most maxActiveFragments fragment actors alive, and still runs every fragment', async () => {
    const executor = createExecutor({ sources: { m: memorySource({ tables: { t: [{ a: 1 }] } }) }, cache: false, concurrency: 4 });
    const fragments = Array.from({ length: 300 }, (_, i) => ({ id: `f${i}`, source: 'm', query: { table: 't' } }));
    const run = executor.run({ fragments, merge: { op: 'union', inputs: fragments.map((f) => f.id) } });
    let most = 0;
    run.actor.subscribe((s) => {
      most = Math.max(most, Object.keys(s.children).filter((id) => id.startsWith('f')).length);
    });
    const result = await run.result;
    expect(result.rows).toHaveLength(300);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(64);
    await executor.close();
  });
});
