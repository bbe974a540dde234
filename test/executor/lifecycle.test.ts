import { lastValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, TributaryError, type Executor, type ExecutionEvent, type Progress, type Row } from '../../src/index.js';
import { collectEvents, ofType, sourceError, testSource } from '../support/engine.js';

const rows = (n: number): Row[] => Array.from({ length: n }, (_, i) => ({ i }));

describe('executor lifecycle, events and rows', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  it('stamps every event with the queryId and `at`, ms since the query started, in order', async () => {
    executor = createExecutor({ sources: { m: memorySource({ tables: { t: rows(3) } }) } });
    const run = executor.run({
      id: 'stamped',
      fragments: [
        { id: 'a', source: 'm', query: { table: 't' } },
        { id: 'b', source: 'm', dependsOn: ['a'], query: { table: 't', where: { in: ['i', { $from: 'a', column: 'i' }] } } },
      ],
    });
    expect(run.queryId).toBe('stamped');
    const events = collectEvents(run);
    const result = await run.result;
    expect(events.map((e) => e.type)).toEqual([
      'query.started',
      'level.started',
      'fragment.queued',
      'fragment.started',
      'fragment.succeeded',
      'level.started',
      'fragment.queued',
      'fragment.started',
      'fragment.succeeded',
      'merge.started',
      'query.done',
    ]);
    for (const e of events) {
      expect(e.queryId).toBe('stamped');
      expect(typeof e.at).toBe('number');
      expect(e.at).toBeGreaterThanOrEqual(0);
    }
    const ats = events.map((e) => e.at);
    expect(ats).toEqual([...ats].sort((x, y) => x - y));
    expect(ofType(events, 'query.done')[0]).toMatchObject({ status: 'ok', rowCount: 3 });
    expect(ofType(events, 'query.started')[0]).toMatchObject({ fragments: 2, levels: 2 });
    expect(result.queryId).toBe('stamped');
  });

  it('publishes every query’s events on executor.events$', async () => {
    executor = createExecutor({ sources: { m: memorySource({ tables: { t: rows(1) } }) } });
    const seen: ExecutionEvent[] = [];
    const sub = executor.events$.subscribe((e) => seen.push(e));
    await executor.execute({ id: 'q1', fragments: [{ id: 'a', source: 'm', query: { table: 't' } }] });
    await executor.execute({ id: 'q2', fragments: [{ id: 'a', source: 'm', query: { table: 't' } }] });
    sub.unsubscribe();
    expect(ofType(seen, 'query.done').map((e) => e.queryId)).toEqual(['q1', 'q2']);
  });

  it('completes events$ and progress$ after done', async () => {
    executor = createExecutor({ sources: { m: memorySource({ tables: { t: rows(2) } }) } });
    const run = executor.run({ fragments: [{ id: 'a', source: 'm', query: { table: 't' } }] });
    const [events, progress] = await Promise.all([lastValueFrom(run.events$.pipe(toArray())), lastValueFrom(run.progress$.pipe(toArray()))]);
    expect(events[events.length - 1]!.type).toBe('query.done');
    expect(progress[progress.length - 1]).toMatchObject({ percent: 100, done: true, succeeded: 1, total: 1 });
  });

  it('completes events$ and progress$ after failed', async () => {
    const src = testSource({ behaviour: () => sourceError('nope', false) });
    executor = createExecutor({ sources: { s: src.source } });
    const run = executor.run({ fragments: [{ id: 'a', source: 's', query: { key: 'a' } }] });
    const [events, progress] = await Promise.all([lastValueFrom(run.events$.pipe(toArray())), lastValueFrom(run.progress$.pipe(toArray()))]);
    expect(events[events.length - 1]!.type).toBe('query.failed');
    const last = progress[progress.length - 1]!;
    expect(last).toMatchObject({ failed: 1, done: true, running: 0 });
    expect(last.percent).toBeLessThan(100);
  });

  it('completes events$ after a cancel, and a late progress$ subscriber gets the last value', async () => {
    const src = testSource();
    executor = createExecutor({ sources: { s: src.source } });
    const run = executor.run({ fragments: [{ id: 'a', source: 's', query: { key: 'a' } }] });
    const events = lastValueFrom(run.events$.pipe(toArray()));
    await src.waitForCalls(1);
    run.cancel();
    expect((await events).map((e) => e.type).slice(-1)).toEqual(['query.failed']);
    await run.result.catch(() => undefined);
    const late: Progress[] = [];
    run.progress$.subscribe((p) => late.push(p));
    expect(late).toHaveLength(1);
    expect(late[0]!.done).toBe(true);
  });

  it('run.rows() yields the merged rows in batches of the given size', async () => {
    executor = createExecutor({ sources: { m: memorySource({ tables: { t: rows(2500) } }) } });
    const run = executor.run({ fragments: [{ id: 'a', source: 'm', query: { table: 't' } }] });
    const batches: Row[][] = [];
    for await (const batch of run.rows(1000)) batches.push(batch);
    expect(batches.map((b) => b.length)).toEqual([1000, 1000, 500]);
    expect(batches.flat().map((r) => r.i)).toEqual(rows(2500).map((r) => r.i));
    // The rows went to the iterator as they came: the result does not keep a second copy.
    const result = await run.result;
    expect(result.rows).toEqual([]);
    expect(result.fragments.a!.rowCount).toBe(2500);
  });

  it('run.rows() rejects a batch size that is not a positive integer', async () => {
    executor = createExecutor({ sources: { m: memorySource({ tables: { t: rows(3) } }) } });
    for (const size of [0, -1, 1.5, Number.NaN]) {
      const run = executor.run({ fragments: [{ id: 'a', source: 'm', query: { table: 't' } }] });
      await expect(run.rows(size).next()).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      await run.result;
    }
  });

  it('drains a source that answers with an async iterable of row batches', async () => {
    const src = testSource();
    src.source.execute = async function* () {
      yield [{ n: 1 }];
      await Promise.resolve();
      yield [{ n: 2 }, { n: 3 }];
    };
    executor = createExecutor({ sources: { s: src.source } });
    const result = await executor.execute({ fragments: [{ id: 'a', source: 's', query: { key: 'a' } }] });
    expect(result.rows).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it('accepts fragment ids that are names of Object.prototype members', async () => {
    executor = createExecutor({ sources: { m: memorySource({ tables: { t: rows(2) } }) } });
    const result = await executor.execute({
      fragments: [
        { id: '__proto__', source: 'm', query: { table: 't' } },
        { id: 'constructor', source: 'm', dependsOn: ['__proto__'], query: { table: 't', where: { in: ['i', { $from: '__proto__', column: 'i' }] } } },
        { id: 'toString', source: 'm', dependsOn: ['constructor'], query: { table: 't' } },
      ],
    });
    expect(result.status).toBe('ok');
    expect(Object.keys(result.fragments)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(Object.getPrototypeOf(result.fragments)).toBe(Object.prototype);
    expect(result.rows).toEqual(rows(2));
  });

  it('runs sources whatever their names: XState target syntax (#_parent, #_internal, #_x), paths, __proto__', async () => {
    // Names XState reads specially as a send target, and one zod's record would drop; JSON
    // (a sources file) makes `__proto__` an own key.
    const names = ['#_internal', '#_parent', '#_x', 'a.b', 'a/b', 'constructor', '__proto__'];
    const sources = JSON.parse(`{${names.map((n) => `${JSON.stringify(n)}: null`).join(',')}}`) as Record<string, unknown>;
    names.forEach((name, i) => (sources[name] = memorySource({ tables: { t: [{ name, i }] } })));
    executor = createExecutor({ sources: sources as Record<string, ReturnType<typeof memorySource>> });
    const run = executor.run({
      fragments: names.map((source, i) => ({ id: `f${i}`, source, ...(i > 0 ? { dependsOn: [`f${i - 1}`] } : {}), query: { table: 't' } })),
      merge: { op: 'union', inputs: names.map((_, i) => `f${i}`) },
    });
    // The machine's per-source counts: an own key per name from the first snapshot on, `__proto__` included.
    expect(Object.keys(run.actor.getSnapshot().context.sources).sort()).toEqual([...names].sort());
    const result = await run.result;
    const counts = run.actor.getSnapshot().context.sources;
    expect(Object.keys(counts).sort()).toEqual([...names].sort());
    for (const name of names) expect(Object.getOwnPropertyDescriptor(counts, name)?.value).toEqual({ sent: 1, succeeded: 1, failed: 0, cached: 0 });
    expect(result.errors).toEqual([]);
    expect(result.status).toBe('ok');
    expect(result.rows).toEqual(names.map((name, i) => ({ name, i })));
    // One source actor each, named by its source.
    expect(Object.keys(run.actor.getSnapshot().children).sort()).toEqual([...names].sort());
  });

  it('run.rows() throws the error of a failed run', async () => {
    const src = testSource({ behaviour: () => sourceError('broken', false) });
    executor = createExecutor({ sources: { s: src.source } });
    const run = executor.run({ fragments: [{ id: 'a', source: 's', query: { key: 'a' } }] });
    const consume = async () => {
      for await (const _ of run.rows()) void _;
    };
    await expect(consume()).rejects.toMatchObject({ code: 'FRAGMENT_FAILED', fragmentId: 'a' });
  });

  it('executor.close() is idempotent, cancels running queries and closes every source once', async () => {
    const a = testSource();
    const b = testSource();
    executor = createExecutor({ sources: { a: a.source, b: b.source } });
    const run = executor.run({
      fragments: [
        { id: 'x', source: 'a', query: { key: 'x' } },
        { id: 'y', source: 'b', query: { key: 'y' } },
      ],
      merge: { op: 'union', inputs: ['x', 'y'] },
    });
    await a.waitForCalls(1);
    await b.waitForCalls(1);
    const first = executor.close();
    const second = executor.close();
    await Promise.all([first, second]);
    await executor.close();
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(a.calls[0]!.signal.aborted).toBe(true);
    expect(b.calls[0]!.signal.aborted).toBe(true);
    expect(a.closed).toBe(1);
    expect(b.closed).toBe(1);
    expect(executor.metrics().runningQueries).toBe(0);
    expect(() => executor!.run({ fragments: [{ id: 'x', source: 'a', query: { key: 'x' } }] })).toThrow(TributaryError);
    await expect(executor.execute({ fragments: [{ id: 'x', source: 'a', query: { key: 'x' } }] })).rejects.toMatchObject({ code: 'CLOSED' });
    // Not SOURCE_UNKNOWN: the registry is gone because the executor is closed.
    for (const call of [() => executor!.prepare({ fragments: [{ id: 'x', source: 'a', query: { key: 'x' } }] }), () => executor!.validate({ fragments: [{ id: 'x', source: 'a', query: { key: 'x' } }] })]) {
      expect(call).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    }
  });

  it('is an async disposable', async () => {
    const a = testSource();
    {
      await using ex = createExecutor({ sources: { a: a.source } });
      expect(ex.metrics().runningQueries).toBe(0);
    }
    expect(a.closed).toBe(1);
  });

  it('register() refuses a name that is not a non-empty string', () => {
    executor = createExecutor();
    const source = memorySource({ tables: { t: rows(1) } });
    for (const name of ['', 5, null, undefined]) {
      expect(() => executor!.register(name as never, source)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', issues: [expect.objectContaining({ path: 'name' })] }));
    }
    expect(Object.keys(executor.metrics().sources)).toEqual([]);
    executor.register('m', source);
    expect(executor.unregister('m')).toBe(source);
  });

  it('unregister() lets a running query that uses the source finish, later levels included', async () => {
    const src = testSource({ behaviour: (c) => (c.key === 'a' ? undefined : [{ k: c.key }]) });
    executor = createExecutor({ sources: { s: src.source } });
    const run = executor.run({
      fragments: [
        { id: 'a', source: 's', query: { key: 'a' } },
        { id: 'b', source: 's', dependsOn: ['a'], query: { key: 'b' } },
      ],
    });
    await src.waitForCalls(1);
    expect(executor.unregister('s')).toBe(src.source);
    expect(src.calls[0]!.signal.aborted).toBe(false);
    src.calls[0]!.resolve([{ k: 'a' }]);
    const result = await run.result;
    expect(result.errors).toEqual([]);
    expect(result.status).toBe('ok');
    expect(result.rows).toEqual([{ k: 'b' }]);
    expect(src.closed).toBe(0);
  });

  it('register() and unregister() change the sources a plan may use', async () => {
    executor = createExecutor();
    const plan = { fragments: [{ id: 'a', source: 'late', query: { table: 't' } }] };
    expect(() => executor!.run(plan)).toThrow(expect.objectContaining({ code: 'SOURCE_UNKNOWN' }) as Error);
    const late = memorySource({ tables: { t: rows(2) } });
    executor.register('late', late);
    expect(() => executor!.register('late', late)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error);
    expect((await executor.execute(plan)).rows).toEqual(rows(2));
    expect(executor.unregister('late')).toBe(late);
    expect(() => executor!.run(plan)).toThrow(expect.objectContaining({ code: 'SOURCE_UNKNOWN' }) as Error);
  });
});
