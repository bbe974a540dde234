import { describe, expect, it } from 'vitest';
import { createExecutor, createVirtualClock, memorySource, plan, TributaryError, type ExecutionEvent } from '../../src/index.js';
import { DEFAULT_LIMITS, LiveStore, type LiveMessage } from '../../src/ui/store.js';
import { delayedSource } from '../support/delayed-source.js';

const p = plan('q')
  .fragment('a', 'm', { table: 't' })
  .fragment('b', 'm', { table: 't', where: { in: ['x', { $from: 'a', column: 'x' }] } }, { dependsOn: ['a'] })
  .build();

function recorder(store: LiveStore): LiveMessage[] {
  const seen: LiveMessage[] = [];
  store.subscribe((m) => seen.push(m));
  return seen;
}

describe('LiveStore: what the live page is told', () => {
  it('folds a real run into fragment states, progress and a timeline, under the watched query', async () => {
    const executor = createExecutor({ sources: { m: memorySource({ tables: { t: [{ x: 1 }, { x: 2 }] } }) } });
    const store = new LiveStore();
    const messages = recorder(store);
    executor.events$.subscribe((e) => store.onEvent(e));
    const run = executor.run(p);
    store.watch(run, p);
    const result = await run.result;
    await new Promise((resolve) => setTimeout(resolve, 0));
    await executor.close();

    const snapshot = store.snapshot();
    if (snapshot.type !== 'snapshot') throw new Error('not a snapshot');
    expect(snapshot.queries).toHaveLength(1);
    const q = snapshot.queries[0]!;
    expect(q.key).toBe('q#1');
    expect(q.state).toBe(result.status);
    expect(q.total).toBe(2);
    expect(Object.fromEntries(Object.entries(q.fragments).map(([id, f]) => [id, f.state]))).toEqual({ a: 'succeeded', b: 'succeeded' });
    expect(q.svg).toContain('data-fragment="b"');
    expect(q.timeline).toContain('critical path: a → b');
    expect(q.criticalPath).toEqual(['a', 'b']);
    expect(q.progress).toMatchObject({ total: 2, succeeded: 2, percent: 100, done: true });
    // The page heard each fragment change and every event, in order.
    const changes = messages.flatMap((m) => (m.type === 'fragments' ? Object.entries(m.changes).map(([id, f]) => `${id}:${f.state}`) : []));
    expect(changes.filter((c) => c.startsWith('a:'))).toEqual(['a:queued', 'a:running', 'a:succeeded']);
    expect(messages.filter((m) => m.type === 'log').map((m) => (m.type === 'log' ? m.line.type : ''))).toEqual(snapshot.log.map((l) => l.type));
    expect(snapshot.log.at(-1)?.type).toBe('query.done');
  });

  it('under eager, logs a level\'s header, with its fragment count, before the lines of its fragments that run while a lower level does', async () => {
    const clock = createVirtualClock();
    // `slow` (level 1) answers after 500 ms, the rest after 10: `leaf` (level 2) runs and settles meanwhile.
    const m = delayedSource(memorySource({ tables: { t: [{ x: 1 }, { x: 2 }], slow: [{ x: 1 }] } }), clock, (q) => (q.table === 'slow' ? 500 : 10));
    const executor = createExecutor({ sources: { m }, cache: false, clock });
    const eager = plan('eager-log')
      .fragment('a', 'm', { table: 't' })
      .fragment('slow', 'm', { table: 'slow', where: { in: ['x', { $from: 'a', column: 'x' }] } }, { dependsOn: ['a'] })
      .fragment('fast', 'm', { table: 't', where: { in: ['x', { $from: 'a', column: 'x' }] } }, { dependsOn: ['a'] })
      .fragment('leaf', 'm', { table: 't', where: { in: ['x', { $from: 'fast', column: 'x' }] } }, { dependsOn: ['fast'] })
      .merge({ op: 'union', inputs: ['slow', 'leaf'] })
      .options({ schedule: 'eager' })
      .build();
    const store = new LiveStore();
    executor.events$.subscribe((e) => store.onEvent(e));
    const run = executor.run(eager);
    store.watch(run, eager);
    await clock.advanceAsync(1_000);
    expect((await run.result).status).toBe('ok');
    await executor.close();
    const snapshot = store.snapshot();
    if (snapshot.type !== 'snapshot') throw new Error('not a snapshot');
    const lines = snapshot.log.map((l) => `${l.type} ${l.text}`);
    const at = (start: string) => lines.findIndex((l) => l.startsWith(start));
    expect(lines.filter((l) => l.startsWith('level.started'))).toEqual([
      'level.started level 0: 1 fragment',
      'level.started level 1: 2 fragments',
      'level.started level 2: 1 fragment',
    ]);
    expect(at('fragment.succeeded leaf')).toBeLessThan(at('fragment.succeeded slow'));
    expect(at('level.started level 2')).toBeLessThan(at('fragment.queued leaf'));
    expect(snapshot.queries[0]!.progress).toMatchObject({ level: 2, percent: 100, done: true });
  });

  it('shows a query it was not told about from its events alone, and a new run of the same plan as a new query', () => {
    const store = new LiveStore();
    const base = { queryId: 'r', runId: 'run-1', source: 'm', level: 0 };
    const events: ExecutionEvent[] = [
      { type: 'query.started', queryId: 'r', runId: 'run-1', at: 0, fragments: 2, levels: 1 },
      { type: 'fragment.queued', fragmentId: 'x', at: 1, ...base },
      { type: 'fragment.started', fragmentId: 'x', at: 2, attempt: 1, batch: { index: 0, count: 1 }, ...base },
      { type: 'fragment.queued', fragmentId: 'y', at: 2, ...base },
    ];
    for (const e of events) store.onEvent(e);
    store.onEvent({ type: 'query.started', queryId: 'r', runId: 'run-2', at: 0, fragments: 1, levels: 1 });
    const snapshot = store.snapshot();
    if (snapshot.type !== 'snapshot') throw new Error('not a snapshot');
    expect(snapshot.queries.map((q) => q.key)).toEqual(['r#1', 'r#2']);
    expect(snapshot.queries[0]!.fragments).toEqual({ x: { source: 'm', level: 0, state: 'running' }, y: { source: 'm', level: 0, state: 'queued' } });
    expect(snapshot.queries[0]!.svg).toBeUndefined();
    expect(snapshot.queries[1]!.total).toBe(1);
  });

  it('tells overlapping runs of one plan that it was not told about apart by their runId', () => {
    const store = new LiveStore();
    const one = { queryId: 'p', runId: 'run-a', source: 'm', level: 0 };
    const two = { queryId: 'p', runId: 'run-b', source: 'm', level: 0 };
    const events: ExecutionEvent[] = [
      { type: 'query.started', queryId: 'p', runId: 'run-a', at: 0, fragments: 1, levels: 1 },
      { type: 'fragment.queued', fragmentId: 'x', at: 1, ...one },
      { type: 'query.started', queryId: 'p', runId: 'run-b', at: 0, fragments: 1, levels: 1 },
      { type: 'fragment.queued', fragmentId: 'x', at: 1, ...two },
      // The first run's fragment fails and the run with it, while the second's is still running.
      { type: 'fragment.started', fragmentId: 'x', at: 2, attempt: 1, batch: { index: 0, count: 1 }, ...two },
      { type: 'query.failed', queryId: 'p', runId: 'run-a', at: 3, durationMs: 3, error: new TributaryError('CANCELLED', 'cancelled') },
    ];
    for (const e of events) store.onEvent(e);
    const snapshot = store.snapshot();
    if (snapshot.type !== 'snapshot') throw new Error('not a snapshot');
    expect(snapshot.queries.map((q) => [q.key, q.state])).toEqual([
      ['p#1', 'failed'],
      ['p#2', 'running'],
    ]);
    expect(snapshot.queries[0]!.fragments.x!.state).not.toBe('running');
    expect(snapshot.queries[1]!.fragments).toEqual({ x: { source: 'm', level: 0, state: 'running' } });
  });

  it('marks what had not finished as stopped when the query fails, and keeps only the last queries', () => {
    const store = new LiveStore({ ...DEFAULT_LIMITS, queries: 2, log: 3, events: 10 });
    const base = { source: 'm', level: 0 };
    for (const id of ['q1', 'q2', 'q3']) {
      store.onEvent({ type: 'query.started', queryId: id, runId: 'run-1', at: 0, fragments: 1, levels: 1 });
      store.onEvent({ type: 'fragment.queued', queryId: id, runId: 'run-1', fragmentId: 'f', at: 1, ...base });
      store.onEvent({ type: 'query.failed', queryId: id, runId: 'run-1', at: 2, durationMs: 2, error: new TributaryError('CANCELLED', 'cancelled') });
    }
    const snapshot = store.snapshot();
    if (snapshot.type !== 'snapshot') throw new Error('not a snapshot');
    expect(snapshot.queries.map((q) => q.queryId)).toEqual(['q2', 'q3']);
    expect(snapshot.queries[1]!.fragments.f!.state).toBe('stopped');
    expect(snapshot.queries[1]!.state).toBe('failed');
    expect(snapshot.queries[1]!.error).toBe('CANCELLED: cancelled');
    expect(snapshot.log).toHaveLength(3);
  });

  it('lists a plan too big to draw live by its fragments, with a note, instead of laying it out', async () => {
    const executor = createExecutor({ sources: { m: memorySource({ tables: { t: [{ x: 1 }] } }) } });
    const store = new LiveStore({ ...DEFAULT_LIMITS, drawnFragments: 1 });
    executor.events$.subscribe((e) => store.onEvent(e));
    const run = executor.run(p);
    store.watch(run, p);
    await run.result;
    await new Promise((resolve) => setTimeout(resolve, 0));
    await executor.close();
    const snapshot = store.snapshot();
    if (snapshot.type !== 'snapshot') throw new Error('not a snapshot');
    const q = snapshot.queries[0]!;
    expect(q.svg).toBeUndefined();
    expect(q.note).toMatch(/^2 fragments: more than this page draws live \(1\)/);
    expect(Object.keys(q.fragments)).toEqual(['a', 'b']);
    expect(q.timeline).toContain('critical path: a → b');
  });
});

describe('createLiveView: the remote option', () => {
  it('refuses a remote.sources that is not a list of names, as EXPLAIN does', async () => {
    const { createLiveView } = await import('../../src/ui/index.js');
    const executor = createExecutor({ sources: { m: memorySource({ tables: { t: [] } }) } });
    try {
      await expect(createLiveView(executor, { remote: { sources: 'shop' as never } })).rejects.toMatchObject({ code: 'CONFIG_INVALID', issues: [{ path: 'remote.sources' }] });
    } finally {
      await executor.close();
    }
  });
});
