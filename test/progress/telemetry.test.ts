import { SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Subject } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, type ExecutionEvent, type Executor, type ExecutorOptions } from '../../src/index.js';
import { instrument } from '../../src/progress/telemetry.js';
import { sourceError, testSource, until } from '../support/engine.js';

describe('OpenTelemetry spans', () => {
  let exporter: InMemorySpanExporter;
  let provider: BasicTracerProvider;
  let executor: Executor | undefined;

  beforeEach(() => {
    exporter = new InMemorySpanExporter();
    provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  });
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
    trace.disable();
    await provider.shutdown();
  });

  const spans = (name?: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => name === undefined || s.name === name);
  const fragmentSpans = (id: string): ReadableSpan[] =>
    spans('tributary.fragment')
      .filter((s) => s.attributes['tributary.fragment.id'] === id)
      .sort((a, b) => Number(a.attributes['tributary.attempt']) - Number(b.attributes['tributary.attempt']));
  const parentId = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;

  function create(options: ExecutorOptions): Executor {
    executor = createExecutor({ cache: false, retry: { attempts: 3, initialDelayMs: 1, jitter: 'none' }, telemetry: { tracer: provider.getTracer('test') }, ...options });
    return executor;
  }

  it('makes one query span, one span per fragment attempt (a retried fragment has two) and a merge span, all children of the query span', async () => {
    let calls = 0;
    const flaky = testSource({ behaviour: () => (++calls === 1 ? sourceError('connection reset', true) : [{ id: 1, total: 5 }]) });
    create({ sources: { mem: memorySource({ tables: { c: [{ id: 1 }, { id: 2 }] } }), flaky: flaky.source } });

    const result = await executor!.execute({
      id: 'traced',
      fragments: [
        { id: 'customers', source: 'mem', query: { table: 'c' } },
        { id: 'orders', source: 'flaky', dependsOn: ['customers'], query: { key: 'orders', params: [{ $from: 'customers', column: 'id' }] } },
      ],
      merge: { op: 'join', type: 'inner', left: 'customers', right: 'orders', on: [['id', 'id']] },
    });
    expect(result.status).toBe('ok');

    const [query, ...moreQueries] = spans('tributary.query');
    expect(moreQueries).toEqual([]);
    expect(query!.attributes).toMatchObject({ 'tributary.query.id': 'traced', 'tributary.run.id': result.runId, 'tributary.query.fragments': 2, 'tributary.query.levels': 2, 'tributary.query.status': 'ok', 'tributary.rows': 1 });
    expect(query!.status.code).toBe(SpanStatusCode.UNSET);
    expect(query!.parentSpanContext).toBeUndefined();
    const queryId = query!.spanContext().spanId;

    const [customers] = fragmentSpans('customers');
    expect(fragmentSpans('customers')).toHaveLength(1);
    expect(customers!.attributes).toEqual({
      'tributary.query.id': 'traced',
      'tributary.fragment.id': 'customers',
      'tributary.source': 'mem',
      'tributary.level': 0,
      'tributary.attempt': 1,
      'tributary.cached': false,
      'tributary.rows': 2,
    });

    const orders = fragmentSpans('orders');
    expect(orders.map((s) => s.attributes['tributary.attempt'])).toEqual([1, 2]);
    expect(orders.map((s) => s.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.UNSET]);
    expect(orders[0]!.attributes).toMatchObject({ 'tributary.level': 1, 'tributary.retryable': true, 'tributary.error.code': 'SOURCE_UNAVAILABLE' });
    expect(orders[0]!.events.map((e) => e.name)).toEqual(['exception']);
    expect(orders[1]!.attributes['tributary.rows']).toBe(1);

    const [merge] = spans('tributary.merge');
    expect(merge!.attributes['tributary.rows']).toBe(1);

    for (const child of [customers!, ...orders, merge!]) {
      expect(parentId(child)).toBe(queryId);
      expect(child.spanContext().traceId).toBe(query!.spanContext().traceId);
    }
    // Each attempt's span covers its own call: the retry starts after the failure ended.
    // HrTime is [seconds, nanoseconds]: compared as arrays, JS would compare their text.
    const ns = ([seconds, nanos]: readonly [number, number]): bigint => BigInt(seconds) * 1_000_000_000n + BigInt(nanos);
    expect(ns(orders[1]!.startTime) >= ns(orders[0]!.endTime)).toBe(true);
    expect(query!.events.map((e) => e.name)).toEqual(['tributary.level.started', 'tributary.level.started', 'tributary.fragment.retrying']);
    expect(query!.events.slice(0, 2).map((e) => e.attributes)).toEqual([
      { 'tributary.level': 0, 'tributary.level.fragments': 1 },
      { 'tributary.level': 1, 'tributary.level.fragments': 1 },
    ]);
  });

  it.each(['eager', 'levels'] as const)('under %s, a level whose fragment is skipped while a lower level runs starts before the skip on the query span', async (schedule) => {
    const ctl = testSource({ behaviour: (c) => (c.key === 'slow' ? undefined : c.key === 'bad' ? sourceError('no such table', false) : [{ k: c.key }]) });
    create({ sources: { ctl: ctl.source } });
    const run = executor!.run({
      id: 'skipped-early',
      fragments: [
        { id: 'root', source: 'ctl', query: { key: 'root' } },
        { id: 'slow', source: 'ctl', dependsOn: ['root'], query: { key: 'slow' } },
        { id: 'bad', source: 'ctl', dependsOn: ['root'], query: { key: 'bad' } },
        { id: 'child', source: 'ctl', dependsOn: ['bad'], query: { key: 'child' } },
      ],
      merge: { op: 'union', inputs: ['slow', 'child'] },
      errorPolicy: 'partial',
      schedule,
    });
    // `child` (level 2) is skipped while `slow` (level 1) still runs, before level 2's state is entered.
    await until(() => ctl.calls.some((c) => c.key === 'slow'), 'slow to be called');
    await until(() => run.actor.getSnapshot().context.counts.skipped === 1, 'child to be skipped');
    expect(run.actor.getSnapshot().value).toBe('executing-level-1');
    ctl.calls.find((c) => c.key === 'slow')!.resolve([{ k: 'slow' }]);
    expect((await run.result).status).toBe('partial');
    const [query] = spans('tributary.query');
    expect(query!.events.map((e) => [e.name, e.attributes?.['tributary.level'] ?? e.attributes?.['tributary.fragment.id']])).toEqual([
      ['tributary.level.started', 0],
      ['tributary.level.started', 1],
      ['tributary.level.started', 2],
      ['tributary.fragment.skipped', 'child'],
    ]);
  });

  it('marks a failed attempt ERROR and records the error code as an exception; a partial query is not an error', async () => {
    const broken = testSource({ behaviour: () => sourceError('syntax error near "FORM"', false) });
    create({ sources: { mem: memorySource({ tables: { t: [{ x: 1 }] } }), broken: broken.source } });

    const result = await executor!.execute({
      id: 'partial',
      errorPolicy: 'partial',
      fragments: [
        { id: 'ok', source: 'mem', query: { table: 't' } },
        { id: 'bad', source: 'broken', query: { key: 'bad' } },
      ],
      merge: { op: 'union', inputs: ['ok', 'bad'] },
    });
    expect(result.status).toBe('partial');

    const [bad, ...more] = fragmentSpans('bad');
    expect(more).toEqual([]);
    expect(bad!.status).toEqual({ code: SpanStatusCode.ERROR, message: result.errors[0]!.message });
    expect(bad!.attributes).toMatchObject({ 'tributary.attempt': 1, 'tributary.retryable': false, 'tributary.error.code': result.errors[0]!.code });
    const [exception] = bad!.events;
    expect(exception!.name).toBe('exception');
    expect(exception!.attributes).toMatchObject({ 'exception.type': result.errors[0]!.code, 'exception.message': result.errors[0]!.message });

    const [query] = spans('tributary.query');
    expect(query!.attributes['tributary.query.status']).toBe('partial');
    expect(query!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('under fail-fast ends the query span as an error and ends the calls it stopped', async () => {
    const slow = testSource();
    const broken = testSource({ behaviour: () => sourceError('permission denied', false) });
    create({ sources: { slow: slow.source, broken: broken.source } });

    const run = executor!.run({
      id: 'fail-fast',
      fragments: [
        { id: 'waiting', source: 'slow', query: { key: 'w' } },
        { id: 'bad', source: 'broken', query: { key: 'b' } },
      ],
      merge: { op: 'union', inputs: ['waiting', 'bad'] },
    });
    const result = await run.result;
    expect(result.status).toBe('failed');

    const [query] = spans('tributary.query');
    expect(query!.status.code).toBe(SpanStatusCode.ERROR);
    expect(query!.attributes).toMatchObject({ 'tributary.query.status': 'failed', 'tributary.error.code': result.errors[0]!.code });
    const [waiting] = fragmentSpans('waiting');
    expect(waiting!.status.code).toBe(SpanStatusCode.ERROR);
    expect(waiting!.ended).toBe(true);
    expect(parentId(waiting!)).toBe(query!.spanContext().spanId);
    expect(spans('tributary.merge')).toEqual([]);
  });

  it('ends a cancelled query and its running calls with status cancelled', async () => {
    const slow = testSource();
    create({ sources: { slow: slow.source } });
    const run = executor!.run({ id: 'cancelled', fragments: [{ id: 'waiting', source: 'slow', query: { key: 'w' } }] });
    await slow.waitForCalls(1);
    run.cancel('the user left');
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });

    const [query] = spans('tributary.query');
    expect(query!.attributes['tributary.query.status']).toBe('cancelled');
    const [waiting] = fragmentSpans('waiting');
    expect(waiting!.attributes['tributary.error.code']).toBe('CANCELLED');
  });

  it('gives a fragment served from the cache one short span with cached=true', async () => {
    create({ sources: { mem: memorySource({ tables: { t: [{ x: 1 }, { x: 2 }] } }) }, cache: {} });
    const cachedPlan = { id: 'cached', fragments: [{ id: 'all', source: 'mem', query: { table: 't' } }] };
    await executor!.execute(cachedPlan);
    const second = await executor!.execute(cachedPlan);
    expect(second.fragments.all!.cached).toBe(true);

    const [first, hit] = fragmentSpans('all').sort((a, b) => Number(a.attributes['tributary.cached']) - Number(b.attributes['tributary.cached']));
    expect(fragmentSpans('all')).toHaveLength(2);
    expect(first!.attributes).toMatchObject({ 'tributary.cached': false, 'tributary.attempt': 1, 'tributary.rows': 2 });
    expect(hit!.attributes).toMatchObject({ 'tributary.cached': true, 'tributary.attempt': 0, 'tributary.rows': 2 });
    const queries = spans('tributary.query');
    expect(queries).toHaveLength(2);
    expect(parentId(hit!)).toBe(queries[1]!.spanContext().spanId);
  });

  it('keeps overlapping runs of the same plan id in separate traces', async () => {
    const slow = testSource({ behaviour: (call) => (call.key === 'fast' ? [{ x: 1 }] : undefined) });
    create({ sources: { slow: slow.source } });
    const p = { id: 'same-id', fragments: [{ id: 'f', source: 'slow', query: { key: 'slow' } }] };
    const a = executor!.run(p);
    const b = executor!.run(p);
    await slow.waitForCalls(2);
    slow.calls[1]!.resolve([{ x: 2 }]);
    await b.result;
    slow.calls[0]!.resolve([{ x: 1 }]);
    await a.result;

    const queries = spans('tributary.query');
    expect(queries).toHaveLength(2);
    const fragments = fragmentSpans('f');
    expect(fragments).toHaveLength(2);
    expect(new Set(fragments.map(parentId))).toEqual(new Set(queries.map((q) => q.spanContext().spanId)));
  });

  it('uses the global tracer provider by default, and makes no spans with telemetry: false', async () => {
    trace.setGlobalTracerProvider(provider);
    const mem = memorySource({ tables: { t: [{ x: 1 }] } });
    executor = createExecutor({ sources: { mem }, cache: false });
    await executor.execute({ id: 'global', fragments: [{ id: 'a', source: 'mem', query: { table: 't' } }] });
    expect(spans().map((s) => [s.name, s.instrumentationScope.name])).toEqual([
      ['tributary.fragment', 'tributary'],
      ['tributary.merge', 'tributary'],
      ['tributary.query', 'tributary'],
    ]);
    await executor.close();

    exporter.reset();
    executor = createExecutor({ sources: { mem }, cache: false, telemetry: false });
    await executor.execute({ id: 'silent', fragments: [{ id: 'a', source: 'mem', query: { table: 't' } }] });
    expect(spans()).toEqual([]);
  });

  it('ends every open span when the stream completes or the subscription ends', async () => {
    const events = new Subject<ExecutionEvent>();
    const subscription = instrument(events, { tracer: provider.getTracer('test') });
    events.next({ type: 'query.started', queryId: 'q', runId: 'run-1', at: 0, fragments: 1, levels: 1 });
    events.next({ type: 'fragment.started', queryId: 'q', runId: 'run-1', at: 1, fragmentId: 'f', source: 's', level: 0, attempt: 1, batch: { index: 0, count: 1 } });
    expect(spans()).toEqual([]);
    subscription.unsubscribe();
    await until(() => spans().length === 2, 'the spans to end');
    expect(spans('tributary.fragment')[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(spans('tributary.query')[0]!.attributes['tributary.query.status']).toBe('unknown');
  });
});
