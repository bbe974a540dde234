import { EventEmitter, once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { demoExecutor, progressServer, reportPlan } from '../examples/progress-sse.js';
import { createExecutor, memorySource, type ExecutionEvent, type Executor, type Plan, type Progress } from '../src/index.js';
import { collectEvents, testSource, until } from './support/engine.js';

describe('executor.events$', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  it('carries the events of every query, each with its queryId and `at`, in order per query', async () => {
    const ctl = testSource({ behaviour: (call) => [{ key: call.key }] });
    executor = createExecutor({ sources: { mem: memorySource({ tables: { t: [{ x: 1 }, { x: 2 }] } }), ctl: ctl.source }, cache: false });
    const all: ExecutionEvent[] = [];
    executor.events$.subscribe((e) => all.push(e));

    const first = executor.run({
      id: 'first',
      fragments: [
        { id: 'a', source: 'mem', query: { table: 't' } },
        { id: 'b', source: 'ctl', dependsOn: ['a'], query: { key: 'b', params: [{ $from: 'a', column: 'x' }] } },
      ],
      merge: 'b',
    });
    const second = executor.run({ id: 'second', fragments: [{ id: 'c', source: 'ctl', query: { key: 'c' } }] });
    const perRun = { first: collectEvents(first), second: collectEvents(second) };
    await Promise.all([first.result, second.result]);

    for (const event of all) {
      expect(typeof event.queryId).toBe('string');
      expect(typeof event.at).toBe('number');
    }
    for (const id of ['first', 'second'] as const) {
      const mine = all.filter((e) => e.queryId === id);
      // The same events, in the same order, as the run's own stream.
      expect(mine).toEqual(perRun[id]);
      expect(mine[0]!.type).toBe('query.started');
      expect(mine.at(-1)!.type).toBe('query.done');
      expect(mine.map((e) => e.at)).toEqual([...mine.map((e) => e.at)].sort((x, y) => x - y));
    }
    expect(all.filter((e) => e.queryId === 'first').map((e) => e.type)).toEqual([
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
  });

  it('tells overlapping runs of one plan apart by runId: on every event, on the run and on its result', async () => {
    const ctl = testSource({ behaviour: (call) => [{ key: call.key }] });
    executor = createExecutor({ sources: { ctl: ctl.source }, cache: false });
    const all: ExecutionEvent[] = [];
    executor.events$.subscribe((e) => all.push(e));
    const plan = executor.prepare({ id: 'same', fragments: [{ id: 'a', source: 'ctl', query: { key: 'a' } }, { id: 'b', source: 'ctl', query: { key: 'b' } }], merge: { op: 'union', inputs: ['a', 'b'] } });
    const runs = [executor.run(plan), executor.run(plan), executor.run(plan)];
    const perRun = runs.map((run) => collectEvents(run));
    const results = await Promise.all(runs.map((run) => run.result));

    const ids = runs.map((run) => run.runId);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(results.map((r) => r.runId)).toEqual(ids);
    expect(all.every((e) => e.queryId === 'same')).toBe(true);
    runs.forEach((run, i) => {
      // The run's own stream and the executor's, filtered by runId, are the same events.
      expect(perRun[i]!.every((e) => e.runId === run.runId)).toBe(true);
      expect(all.filter((e) => e.runId === run.runId)).toEqual(perRun[i]);
      const types = perRun[i]!.map((e) => e.type);
      expect([types[0], types.at(-1)]).toEqual(['query.started', 'query.done']);
      expect(types.filter((t) => t === 'fragment.succeeded')).toHaveLength(2);
    });
  });

  it('replays nothing to a late subscriber and completes when the executor closes', async () => {
    executor = createExecutor({ sources: { mem: memorySource({ tables: { t: [{ x: 1 }] } }) }, cache: false });
    await executor.execute({ id: 'early', fragments: [{ id: 'a', source: 'mem', query: { table: 't' } }] });
    const late: ExecutionEvent[] = [];
    let completed = false;
    executor.events$.subscribe({ next: (e) => late.push(e), complete: () => (completed = true) });
    await executor.execute({ id: 'later', fragments: [{ id: 'a', source: 'mem', query: { table: 't' } }] });
    expect(new Set(late.map((e) => e.queryId))).toEqual(new Set(['later']));
    await executor.close();
    expect(completed).toBe(true);
  });
});

describe('executor.metrics()', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  it('shows running queries and, per source, the calls running and queued in its lane', async () => {
    const slow = testSource({ maxConcurrency: 1 });
    executor = createExecutor({ sources: { slow: slow.source, mem: memorySource({ tables: { t: [{ x: 1 }] } }) }, cache: false, concurrency: 8 });
    expect(executor.metrics()).toMatchObject({ runningQueries: 0, lanes: { global: { limit: 8, running: 0, queued: 0 } } });

    const run = executor.run({
      id: 'slow',
      fragments: ['one', 'two', 'three'].map((key) => ({ id: key, source: 'slow', query: { key } })),
      merge: { op: 'union', inputs: ['one', 'two', 'three'] },
    });
    await slow.waitForCalls(1);
    let m = executor.metrics();
    expect(m.runningQueries).toBe(1);
    expect(m.lanes.sources.slow).toEqual({ limit: 1, running: 1, queued: 2 });
    expect(m.lanes.sources.mem).toEqual({ limit: null, running: 0, queued: 0 });
    // A call waits for its source's slot before it asks for a global one.
    expect(m.lanes.global).toEqual({ limit: 8, running: 1, queued: 0 });

    slow.calls[0]!.resolve([{ n: 1 }]);
    await slow.waitForCalls(2);
    await until(() => executor!.metrics().lanes.sources.slow!.queued === 1, 'the second call to start');
    expect(executor.metrics().lanes.sources.slow).toEqual({ limit: 1, running: 1, queued: 1 });
    expect(slow.maxInFlight()).toBe(1);

    slow.calls[1]!.resolve([{ n: 2 }]);
    await slow.waitForCalls(3);
    slow.calls[2]!.resolve([{ n: 3 }]);
    expect((await run.result).rows).toHaveLength(3);
    m = executor.metrics();
    expect(m.runningQueries).toBe(0);
    expect(m.lanes.sources.slow).toEqual({ limit: 1, running: 0, queued: 0 });
    expect(m.lanes.global).toEqual({ limit: 8, running: 0, queued: 0 });
  });

  it('reports the cache: a miss and an entry for a first run, a hit for the same query again', async () => {
    executor = createExecutor({ sources: { mem: memorySource({ tables: { t: [{ x: 1 }, { x: 2 }] } }) } });
    const p = { id: 'cached', fragments: [{ id: 'a', source: 'mem', query: { table: 't' } }] };
    expect(executor.metrics().cache).toMatchObject({ hits: 0, misses: 0, entries: 0 });
    await executor.execute(p);
    expect(executor.metrics().cache).toMatchObject({ hits: 0, misses: 1, entries: 1 });
    const again = await executor.execute(p);
    expect(again.stats.cacheHits).toBe(1);
    expect(executor.metrics().cache).toMatchObject({ hits: 1, misses: 1, entries: 1 });
    expect(executor.metrics().cache).toEqual(executor.cache.stats());
  });

  it('has no cache figures when the cache is off', () => {
    executor = createExecutor({ cache: false });
    expect(executor.metrics().cache).toBeUndefined();
  });
});

describe('progress over server-sent events (examples/progress-sse.ts)', () => {
  let executor: Executor | undefined;
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    if (server?.listening) await new Promise((resolve) => server!.close(resolve));
    await executor?.close();
    executor = server = undefined;
  });

  async function start(bus?: EventEmitter, plans: Record<string, Plan> = { report: reportPlan }): Promise<string> {
    executor ??= demoExecutor();
    server = progressServer(executor, plans, bus);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Splits a `text/event-stream` body into its events. */
  function parseStream(text: string): { event: string; data: unknown }[] {
    return text
      .split('\n\n')
      .filter((block) => block.trim() !== '')
      .map((block) => {
        const fields = Object.fromEntries(block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
        return { event: fields.event!, data: JSON.parse(fields.data!) as unknown };
      });
  }

  it('streams progress events up to 100 %, then the result, and mirrors them on the event bus', async () => {
    const bus = new EventEmitter();
    const onBus: Progress[] = [];
    bus.on('progress', (queryId: string, p: Progress) => {
      expect(queryId).toBe('report');
      onBus.push(p);
    });
    const base = await start(bus);

    const response = await fetch(`${base}/queries/report/progress`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const events = parseStream(await response.text());

    const progress = events.filter((e) => e.event === 'progress').map((e) => e.data as Progress);
    expect(progress.length).toBeGreaterThan(2);
    expect(progress[0]).toMatchObject({ total: 4, percent: 0, done: false });
    const percents = progress.map((p) => p.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(progress.at(-1)).toMatchObject({ percent: 100, succeeded: 4, done: true });
    expect(events.at(-1)).toEqual({ event: 'result', data: { status: 'ok', rows: 1, errors: [] } });
    expect(onBus).toEqual(progress);
  });

  it('answers 404 for an unknown query, and cancels the query when the client goes away', async () => {
    const hanging = testSource(); // answers only when aborted
    executor = createExecutor({ sources: { hanging: hanging.source } });
    const base = await start(undefined, { hang: { id: 'hang', fragments: [{ id: 'x', source: 'hanging', query: { key: 'x' } }] } });
    expect((await fetch(`${base}/queries/nope/progress`)).status).toBe(404);

    const failures: ExecutionEvent[] = [];
    executor!.events$.subscribe((e) => e.type === 'query.failed' && failures.push(e));
    const client = new AbortController();
    const response = await fetch(`${base}/queries/hang/progress`, { signal: client.signal });
    await response.body!.getReader().read(); // the first progress event
    await hanging.waitForCalls(1);
    expect(executor!.metrics().runningQueries).toBe(1);
    client.abort();
    await until(() => executor!.metrics().runningQueries === 0, 'the query to stop');
    expect(hanging.calls[0]!.signal.aborted).toBe(true);
    expect(failures).toMatchObject([{ type: 'query.failed', queryId: 'hang', error: { code: 'CANCELLED' } }]);
  });
});
