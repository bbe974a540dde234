import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, expect, it } from 'vitest';
import { analyze, createExecutor, createVirtualClock, memorySource, type Executor, type Progress } from '../../src/index.js';
import { collectEvents, ofType, testSource } from '../support/engine.js';

let executor: Executor | undefined;
afterEach(async () => {
  await executor?.close();
  executor = undefined;
});

it('a hedged batch of a bind join: events, spans, progress, result and EXPLAIN ANALYZE agree (virtual clock)', async () => {
  const clock = createVirtualClock();
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let slowCalls = 0;
  // The batch holding key 3 hangs on its first call; its hedge answers at once.
  const ctl = testSource({
    behaviour: (call) => {
      const keys = call.params[0] as number[];
      if (keys.includes(3) && ++slowCalls === 1) return undefined;
      return keys.map((id) => ({ id }));
    },
  });
  executor = createExecutor({
    sources: { keys: memorySource({ tables: { keys: [1, 2, 3, 4].map((k) => ({ k })) } }), ctl: ctl.source },
    clock,
    cache: false,
    retry: { attempts: 1 },
    hedge: { afterMs: 30, maxExtraRatio: 1 },
    telemetry: { tracer: provider.getTracer('test') },
  });
  const run = executor.run({
    id: 'hedged-batches',
    fragments: [
      { id: 'keys', source: 'keys', query: { table: 'keys' } },
      { id: 'rows', source: 'ctl', dependsOn: ['keys'], query: { key: 'rows', params: [{ $from: 'keys', column: 'k' }] }, batch: { param: 0, size: 2 } },
    ],
    merge: { op: 'sort', input: 'rows', by: [{ column: 'id' }] },
  });
  const events = collectEvents(run);
  const progress: Progress[] = [];
  run.progress$.subscribe((p) => progress.push(p));
  let done = false;
  void run.result.finally(() => (done = true)).catch(() => undefined);
  while (!done) await clock.advanceAsync(5);
  const result = await run.result;

  expect(result.rows).toEqual([1, 2, 3, 4].map((id) => ({ id })));
  expect(ctl.calls).toHaveLength(3);
  expect(ofType(events, 'fragment.started').filter((e) => e.fragmentId === 'rows').map((e) => `${e.batch.index}@${e.attempt}`).sort()).toEqual(['0@1', '1@1']);
  expect(ofType(events, 'fragment.hedged').map((e) => `${e.batch.index}@${e.attempt}`)).toEqual(['1@1']);
  expect(ofType(events, 'fragment.attempt.failed')).toEqual([]);
  expect(ofType(events, 'fragment.succeeded').find((e) => e.fragmentId === 'rows')).toMatchObject({ attempts: 1, calls: 3, rowCount: 4 });
  expect(result.fragments['rows']).toMatchObject({ attempts: 1, calls: 3 });
  expect(result.stats.retries).toBe(0);
  expect(progress.at(-1)).toMatchObject({ total: 2, succeeded: 2, running: 0, retries: 0, percent: 100, done: true });
  expect(run.actor.getSnapshot().context.counts).toEqual({ total: 2, queued: 0, running: 0, succeeded: 2, failed: 0, skipped: 0, cached: 0 });
  expect(analyze(result, undefined, { events }).fragments.find((f) => f.id === 'rows')).toMatchObject({ attempts: 1, calls: 3 });

  const spans = exporter.getFinishedSpans();
  const query = spans.find((s) => s.name === 'tributary.query')!;
  const rowSpans = spans.filter((s: ReadableSpan) => s.name === 'tributary.fragment' && s.attributes['tributary.fragment.id'] === 'rows');
  for (const s of rowSpans) expect(s.parentSpanContext?.spanId).toBe(query.spanContext().spanId);
  const hedged = query.events.filter((e) => e.name === 'tributary.fragment.hedged');
  expect(hedged.map((e) => e.attributes)).toEqual([expect.objectContaining({ 'tributary.fragment.id': 'rows', 'tributary.attempt': 1, 'tributary.batch.index': 1, 'tributary.batch.count': 2 })]);
  // One span per call, the hedge's included (also the query span's event), none failed: batch 1's
  // first call lost to its hedge.
  expect(ofType(events, 'fragment.hedge.ended').map((e) => `${e.batch.index}@${e.attempt} ${e.call} ${e.outcome}`)).toEqual(['1@1 primary lost']);
  const described = rowSpans.map((s) => `${String(s.attributes['tributary.batch.index'])}@${String(s.attributes['tributary.attempt'])}:${s.status.code} ${String(s.attributes['tributary.hedge.role'] ?? '-')} ${String(s.attributes['tributary.hedge.outcome'] ?? '-')}`);
  expect(described.sort()).toEqual(['0@1:0 - -', '1@1:0 hedge won', '1@1:0 primary lost']);
  await provider.shutdown();
});
