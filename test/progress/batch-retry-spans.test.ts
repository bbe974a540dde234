import type { BasicTracerProvider, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { analyze, createExecutor, postgresSource, type Executor, type Progress } from '../../src/index.js';
import { collectEvents, ofType } from '../support/engine.js';
import { describeWithServer, pgAdmin, pgUrl, requireServer, type Admin } from '../support/servers.js';
import { flakyBatch, memoryTracer, rowSpans, type FlakyBatch } from '../support/flaky-batch.js';

const pgCheck = await requireServer('postgres');

describeWithServer(pgCheck, 'a batched bind join whose one batch is retried, on a real PostgreSQL', () => {
  let pg: Admin;
  let exporter: InMemorySpanExporter;
  let provider: BasicTracerProvider;
  let executor: Executor;
  let flaky: FlakyBatch;

  beforeAll(async () => {
    pg = await pgAdmin();
    flaky = await flakyBatch(pg, 'flaky');
    ({ exporter, provider } = memoryTracer());
    executor = createExecutor({
      sources: { keys: flaky.keys, pg: postgresSource({ url: pgUrl() }) },
      cache: false,
      retry: { attempts: 3, initialDelayMs: 1, jitter: 'none' },
      telemetry: { tracer: provider.getTracer('test') },
    });
  });

  afterAll(async () => {
    await executor?.close();
    await flaky?.drop();
    await pg?.close();
    await provider?.shutdown();
  });

  it('marks the span of the batch that failed as failed, not another batch’s; events, progress, result, EXPLAIN ANALYZE and snapshot agree', async () => {
    const run = executor.run(flaky.plan());
    const events = collectEvents(run);
    const progress: Progress[] = [];
    run.progress$.subscribe((p) => progress.push(p));
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.rows).toEqual([1, 2, 3, 4].map((id) => ({ id })));

    const started = ofType(events, 'fragment.started').filter((e) => e.fragmentId === 'rows');
    expect(started.map((e) => `${e.batch.index}/${e.batch.count}@${e.attempt}`).sort()).toEqual(['0/2@1', '1/2@1', '1/2@2']);
    const failed = ofType(events, 'fragment.attempt.failed');
    expect(failed.map((e) => e.attempt)).toEqual([1]);
    expect(failed.map((e) => `${e.batch.index}/${e.batch.count}@${e.attempt}`)).toEqual(['1/2@1']);
    expect(ofType(events, 'fragment.retrying').map((e) => `${e.batch.index}/${e.batch.count}@${e.attempt}`)).toEqual(['1/2@2']);
    const query = exporter.getFinishedSpans().find((s) => s.name === 'tributary.query')!;
    const retrying = query.events.filter((e) => e.name === 'tributary.fragment.retrying').map((e) => e.attributes);
    expect(retrying).toEqual([expect.objectContaining({ 'tributary.fragment.id': 'rows', 'tributary.attempt': 2, 'tributary.batch.index': 1, 'tributary.batch.count': 2 })]);
    const terminal = events.filter((e) => ['fragment.succeeded', 'fragment.failed', 'fragment.skipped', 'fragment.dropped', 'fragment.cancelled'].includes(e.type));
    expect(terminal.map((e) => ('fragmentId' in e ? e.fragmentId : '')).sort()).toEqual(['keys', 'rows']);
    const succeeded = ofType(events, 'fragment.succeeded').find((e) => e.fragmentId === 'rows')!;
    expect(succeeded).toMatchObject({ attempts: 2, calls: 3, rowCount: 4 });

    expect(result.fragments['rows']).toMatchObject({ attempts: 2, rowCount: 4, status: 'succeeded' });
    expect(result.stats.retries).toBe(1);
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ total: 2, succeeded: 2, failed: 0, retries: 1, running: 0, percent: 100, done: true });
    const snapshot = run.actor.getSnapshot();
    expect(snapshot.value).toBe('done');
    expect(snapshot.context.counts).toEqual({ total: 2, queued: 0, running: 0, succeeded: 2, failed: 0, skipped: 0, cached: 0 });
    const analysis = analyze(result, undefined, { events });
    expect(analysis.fragments.find((f) => f.id === 'rows')).toMatchObject({ attempts: 2, calls: 3, rowCount: 4 });

    const { spans, described } = rowSpans(exporter);
    expect(described).toEqual(['0@1:ok', '1@1:error', '1@2:ok']);
    for (const s of spans) expect(s.parentSpanContext?.spanId).toBe(query.spanContext().spanId);
  });
});
