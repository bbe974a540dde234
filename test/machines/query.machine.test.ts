import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, queryMachineFor, type Executor, type QueryRun } from '../../src/index.js';
import { unbindPort } from '../../src/run/port-slot.js';
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

  it('goes planned → executing-level-0 → 1 → 2 → merging → done, with one child actor per source named by it, and no rows in any snapshot', async () => {
    const ctl = setup();
    const run = executor!.run(threeLevels);
    const snapshots = recordSnapshots(run);

    // Level 1: beta and gamma run on the ctl source actor.
    await ctl.waitForCalls(2);
    let snap = run.actor.getSnapshot();
    expect(snap.value).toBe('executing-level-1');
    expect(Object.keys(snap.children).sort()).toEqual(['ctl', 'mem']);
    for (const [key, child] of Object.entries(snap.children)) expect(child?.id).toBe(key);
    expect(snap.context.counts).toMatchObject({ total: 4, succeeded: 1, queued: 2 });
    expect(snap.context.sources.ctl).toEqual({ sent: 2, succeeded: 0, failed: 0, cached: 0 });
    ctl.calls.find((c) => c.key === 'beta')!.resolve([{ k: marker(2) }]);
    ctl.calls.find((c) => c.key === 'gamma')!.resolve([{ k: marker(3) }]);

    await ctl.waitForCalls(3);
    snap = run.actor.getSnapshot();
    expect(snap.value).toBe('executing-level-2');
    // Not even the persisted snapshot (children included) carries rows.
    const persisted = JSON.stringify(run.actor.getPersistedSnapshot());
    for (let i = 0; i <= 3; i++) expect(persisted).not.toContain(marker(i));
    ctl.calls.find((c) => c.key === 'delta')!.resolve([{ k: marker(4) }]);

    const result = await run.result;
    expect(result.rows.map((r) => r.k)).toEqual([0, 1, 2, 3, 4].map(marker));
    expect(dedupe(snapshots.map((s) => s.value))).toEqual(['planned', 'executing-level-0', 'executing-level-1', 'executing-level-2', 'merging', 'done']);
    expect(snapshots.length).toBeGreaterThan(6);
    for (const s of snapshots) {
      const json = JSON.stringify(s.context);
      for (let i = 0; i <= 4; i++) expect(json).not.toContain(marker(i));
      expect(hasKey(s.context, 'rows')).toBe(false);
    }
    const final = run.actor.getSnapshot();
    expect(final.status).toBe('done');
    expect(final.context.counts).toEqual({ total: 4, queued: 0, running: 0, succeeded: 4, failed: 0, skipped: 0, cached: 0 });
    expect(final.context.sources).toEqual({ mem: { sent: 1, succeeded: 1, failed: 0, cached: 0 }, ctl: { sent: 3, succeeded: 3, failed: 0, cached: 0 } });
    expect(final.context.rowCount).toBe(5);
  });

  it('is built once per number of levels, with one state per level named executing-level-N', () => {
    const machine = queryMachineFor(3);
    expect(queryMachineFor(3)).toBe(machine);
    expect(queryMachineFor(2)).not.toBe(machine);
    expect(Object.keys(machine.states)).toEqual(['planned', 'executing-level-0', 'executing-level-1', 'executing-level-2', 'merging', 'done', 'failed']);
  });

  it('runs plans of the same shape on the same machine definition', async () => {
    setup();
    const a = executor!.run({ fragments: [{ id: 'x', source: 'mem', query: { table: 'a' } }] });
    const b = executor!.run({ fragments: [{ id: 'y', source: 'mem', query: { table: 'a' } }] });
    expect(a.actor.logic).toBe(b.actor.logic);
    expect(a.actor.logic).toBe(queryMachineFor(1));
    await Promise.all([a.result, b.result]);
  });

  it('fails fast: a failed fragment ends the machine in failed, which stops the source actors and aborts their calls', async () => {
    const ctl = testSource({ behaviour: (c) => (c.key === 'bad' ? new Error('no') : undefined) });
    executor = createExecutor({ sources: { ctl: ctl.source }, cache: false, retry: { attempts: 1 } });
    const run = executor.run({
      fragments: [
        { id: 'a', source: 'ctl', query: { key: 'bad' } },
        { id: 'b', source: 'ctl', query: { key: 'hangs' } },
      ],
      merge: { op: 'union', inputs: ['a', 'b'] },
    });
    const result = await run.result;
    expect(result.status).toBe('failed');
    const snap = run.actor.getSnapshot();
    expect(snap.value).toBe('failed');
    expect(snap.context.failure).toMatchObject({ code: 'FRAGMENT_FAILED', fragmentId: 'a' });
    expect(snap.children.ctl?.getSnapshot().status).toBe('stopped');
    expect(ctl.calls.find((c) => c.key === 'hangs')!.signal.aborted).toBe(true);
    expect(result.fragments.b!.status).toBe('cancelled');
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
    // `fast` has settled and the machine has taken it in: leaf would have been sent by now.
    await until(() => run.actor.getSnapshot().context.counts.succeeded === 2, 'the machine to count fast');
    expect(ctl.calls.map((c) => c.key)).toEqual(['root', 'slow', 'fast']);
    expect(run.actor.getSnapshot().value).toBe('executing-level-1');
    ctl.calls.find((c) => c.key === 'slow')!.resolve([{ k: 'slow' }]);
    await run.result;

    const order = events.filter((e) => e.type === 'fragment.started' || e.type === 'fragment.succeeded').map((e) => `${e.type.slice(9)} ${(e as { fragmentId: string }).fragmentId}`);
    expect(order.indexOf('started leaf')).toBeGreaterThan(order.indexOf('succeeded slow'));
  });

  it('answers fragments the in-process cache holds without their source actor, and spawns none for a plan served whole', async () => {
    executor = createExecutor({ sources: { mem: memorySource({ tables: { a: [{ k: 1 }, { k: 2 }] } }) } });
    const plan = {
      fragments: [
        { id: 'x', source: 'mem', query: { table: 'a' } },
        { id: 'y', source: 'mem', dependsOn: ['x'], query: { table: 'a', where: { in: ['k', { $from: 'x', column: 'k' }] } } },
      ],
      merge: { op: 'union', inputs: ['x', 'y'] },
    };
    const first = await executor.execute(plan);
    expect(first.stats.cacheHits).toBe(0);
    const run = executor.run(plan);
    const events = collectEvents(run);
    const second = await run.result;
    expect(second.rows).toEqual(first.rows);
    // x (no references) is answered at dispatch; y (bound) goes through its source actor's lookup.
    expect(second.fragments.x).toMatchObject({ status: 'succeeded', cached: true, calls: 0 });
    expect(second.fragments.y).toMatchObject({ status: 'succeeded', cached: true, calls: 0 });
    expect(Object.keys(run.actor.getSnapshot().children)).toEqual(['mem']);
    expect(ofType(events, 'fragment.cached').map((e) => e.fragmentId)).toEqual(['x', 'y']);

    const whole = executor.run({ fragments: [{ id: 'only', source: 'mem', query: { table: 'a' } }] });
    await whole.result;
    const again = executor.run({ fragments: [{ id: 'only', source: 'mem', query: { table: 'a' } }] });
    const result = await again.result;
    expect(result.fragments.only).toMatchObject({ cached: true });
    expect(again.actor.getSnapshot().children).toEqual({});
    expect(again.actor.getSnapshot().context.counts).toMatchObject({ succeeded: 1, cached: 1 });
  });

  it('under eager, settles a chain of cache hits in the step that dispatches them and sends what they release', async () => {
    const calls: string[] = [];
    const counting = (name: string) => {
      const source = memorySource({ tables: { t: [{ id: 1 }, { id: 2 }] } });
      return { ...source, execute: (query: never, ctx: never) => (calls.push(name), source.execute(query, ctx)) };
    };
    executor = createExecutor({ sources: { mem: counting('mem'), fresh: counting('fresh') } });
    // a → b → c, all static; c is never cached, so it is the only call of the second run.
    const plan = {
      id: 'eager-chain',
      schedule: 'eager' as const,
      fragments: [
        { id: 'a', source: 'mem', query: { table: 't' } },
        { id: 'b', source: 'mem', dependsOn: ['a'], query: { table: 't', where: { eq: ['id', 2] } } },
        { id: 'c', source: 'fresh', dependsOn: ['b'], cache: false as const, query: { table: 't', where: { eq: ['id', 1] } } },
      ],
      merge: { op: 'union', inputs: ['a', 'b', 'c'] },
    };
    const first = await executor.execute(plan);
    expect(calls).toEqual(['mem', 'mem', 'fresh']);
    calls.length = 0;

    const received: string[] = [];
    const run = executor.run(plan);
    const snapshots = recordSnapshots(run);
    run.actor.system.inspect({ next: (e) => void (e.type === '@xstate.event' && e.actorRef === run.actor && received.push(e.event.type)) });
    const second = await run.result;
    expect(second.rows).toEqual(first.rows);
    expect(calls).toEqual(['fresh']);
    expect(second.fragments.a).toMatchObject({ status: 'succeeded', cached: true, calls: 0 });
    expect(second.fragments.b).toMatchObject({ status: 'succeeded', cached: true, calls: 0 });
    expect(second.fragments.c).toMatchObject({ status: 'succeeded', cached: false, calls: 1 });
    // The query actor took one settle event: c's, from its source actor. The hits took none.
    expect(received.filter((t) => t.startsWith('fragment.'))).toEqual(['fragment.succeeded']);
    expect(Object.keys(run.actor.getSnapshot().children)).toEqual(['fresh']);
    const final = snapshots.at(-1)!;
    expect(final.context.counts).toMatchObject({ total: 3, succeeded: 3, cached: 2, failed: 0 });
    expect(final.context.sources).toEqual({ mem: { sent: 0, succeeded: 2, failed: 0, cached: 2 }, fresh: { sent: 1, succeeded: 1, failed: 0, cached: 0 } });
  });

  it('never leaves a level before the settles that finish it are taken, even when several arrive at once', async () => {
    // f1 and f3 bind f0's (empty) column: no call, so both settle at once, before the query
    // actor has taken either. f2 waits for f1 in the next level and must still run.
    executor = createExecutor({ sources: { a: memorySource({ tables: { t: [{ id: 1 }] } }), b: memorySource({ tables: { t: [{ id: 1 }] } }) }, cache: false });
    const bound = (from: string) => ({ table: 't', where: { in: ['id', { $from: from, column: 'id' }] } });
    const run = executor.run({
      fragments: [
        { id: 'f0', source: 'a', query: { table: 't', where: { eq: ['id', -1] } } },
        { id: 'f1', source: 'b', dependsOn: ['f0'], query: bound('f0') },
        { id: 'f3', source: 'a', dependsOn: ['f0'], query: bound('f0') },
        { id: 'f2', source: 'b', dependsOn: ['f1'], query: { table: 't' } },
      ],
      merge: { op: 'union', inputs: ['f0', 'f1', 'f2', 'f3'] },
    });
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.fragments.f2).toMatchObject({ status: 'succeeded', rowCount: 1 });
    expect(result.rows).toEqual([{ id: 1 }]);
  });

  it('ends in failed with failure CANCELLED when cancelled, and stops its source actors', async () => {
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

  it('ends the run as a cancel when its actor is stopped from outside (actor.stop()): result rejects CANCELLED, calls aborted', async () => {
    const ctl = setup();
    const run = executor!.run(threeLevels);
    const events = collectEvents(run);
    await ctl.waitForCalls(2);
    run.actor.stop();
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(ctl.calls.every((c) => c.signal.aborted)).toBe(true);
    expect(ofType(events, 'query.done')).toHaveLength(0);
    expect(ofType(events, 'query.failed')).toHaveLength(1);
    expect(events.at(-1)?.type).toBe('query.failed');
  });

  it('aborts its source actors\' calls when the query actor errors (XState leaves an errored actor\'s children running)', async () => {
    const ctl = setup();
    const run = executor!.run(threeLevels);
    await ctl.waitForCalls(2);
    // The next settle finds no run bound to the actor: its `settle` action throws, and the actor errors.
    unbindPort(run.actor.system);
    ctl.calls.find((c) => c.key === 'beta')!.resolve([]);
    const result = await run.result;
    expect(run.actor.getSnapshot().status).toBe('error');
    expect(result.status).toBe('failed');
    expect(ctl.calls.find((c) => c.key === 'gamma')!.signal.aborted).toBe(true);
  });

  it('ends in failed, without calling a source, when an asynchronous authorize rule refuses the run (or it is cancelled first)', async () => {
    const ctl = testSource();
    executor = createExecutor({
      sources: { mem: memorySource({ tables: { a: [{ k: 1 }] } }), ctl: ctl.source },
      cache: false,
      authorize: async (_principal, { source }) => (source === 'ctl' ? 'not ctl' : true),
    });
    const refused = executor.run(threeLevels);
    const refusedSnapshots = recordSnapshots(refused);
    await expect(refused.result).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(refused.actor.getSnapshot().status).toBe('done');
    expect(refused.actor.getSnapshot().value).toBe('failed');
    expect(refused.actor.getSnapshot().context.failure).toMatchObject({ code: 'FORBIDDEN' });
    expect(dedupe(refusedSnapshots.map((s) => s.value))).toEqual(['planned', 'failed']);

    const cancelled = executor.run({ ...threeLevels, fragments: threeLevels.fragments.slice(0, 1), merge: undefined });
    cancelled.cancel('not now');
    await expect(cancelled.result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(cancelled.actor.getSnapshot().value).toBe('failed');
    expect(cancelled.actor.getSnapshot().context.failure).toEqual({ code: 'CANCELLED', message: 'the query was cancelled: not now' });
    expect(ctl.calls).toHaveLength(0);
  });

  it('shows nothing queued or running once it has failed: the source actors stopped what they ran', async () => {
    const ctl = setup();
    const failFast = executor!.run(threeLevels);
    await ctl.waitForCalls(2);
    expect(failFast.actor.getSnapshot().context.counts).toMatchObject({ queued: 2 });
    ctl.calls.find((c) => c.key === 'beta')!.reject(new Error('beta broke'));
    expect((await failFast.result).status).toBe('failed');
    expect(failFast.actor.getSnapshot().value).toBe('failed');
    expect(failFast.actor.getSnapshot().context.counts).toMatchObject({ queued: 0, running: 0, succeeded: 1, failed: 1 });

    const cancelled = executor!.run(threeLevels);
    await ctl.waitForCalls(4);
    cancelled.cancel();
    await expect(cancelled.result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(cancelled.actor.getSnapshot().context.counts).toMatchObject({ queued: 0, running: 0, succeeded: 1 });
  });
});
