import { SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { analyze, createExecutor, from, memorySource, postgresSource, type Executor, type Progress } from '../../src/index.js';
import { collectEvents, ofType } from '../support/engine.js';
import { describeWithServer, pgAdmin, pgUrl, requireServer, uniqueName, type Admin } from '../support/servers.js';

const pgCheck = await requireServer('postgres');

describeWithServer(pgCheck, 'a batched bind join whose one batch is retried, on a real PostgreSQL', () => {
  let pg: Admin;
  let exporter: InMemorySpanExporter;
  let provider: BasicTracerProvider;
  let executor: Executor;
  const seq = uniqueName('flaky_seq');
  const fn = uniqueName('flaky_fn');

  beforeAll(async () => {
    pg = await pgAdmin();
    await pg.exec(`CREATE SEQUENCE ${seq}`);
    // Fails with serialization_failure (40001, retryable) the first time a batch holding key 3 runs:
    // nextval is not rolled back, so the retry passes.
    await pg.exec(`CREATE FUNCTION ${fn}(keys int[]) RETURNS TABLE(id int) LANGUAGE plpgsql AS $$
      BEGIN
        IF 3 = ANY(keys) AND nextval('${seq}') = 1 THEN RAISE EXCEPTION 'try again' USING ERRCODE = '40001'; END IF;
        RETURN QUERY SELECT unnest(keys);
      END $$`);
    exporter = new InMemorySpanExporter();
    provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    executor = createExecutor({
      sources: { keys: memorySource({ tables: { keys: [1, 2, 3, 4].map((k) => ({ k })) } }), pg: postgresSource({ url: pgUrl() }) },
      cache: false,
      retry: { attempts: 3, initialDelayMs: 1, jitter: 'none' },
      telemetry: { tracer: provider.getTracer('test') },
    });
  });

  afterAll(async () => {
    await executor?.close();
    await pg?.exec(`DROP FUNCTION IF EXISTS ${fn}(int[])`);
    await pg?.exec(`DROP SEQUENCE IF EXISTS ${seq}`);
    await pg?.close();
    await provider?.shutdown();
  });

  it('marks the span of the batch that failed as failed, not another batch’s; events, progress, result, EXPLAIN ANALYZE and snapshot agree', async () => {
    const run = executor.run({
      id: uniqueName('batch_retry'),
      fragments: [
        { id: 'keys', source: 'keys', query: { table: 'keys' } },
        { id: 'rows', source: 'pg', dependsOn: ['keys'], query: { sql: `SELECT id FROM ${fn}($1)`, params: [from('keys', 'k')] }, batch: { param: 0, size: 2 } },
      ],
      merge: { op: 'sort', input: 'rows', by: [{ column: 'id' }] },
    });
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

    const rowSpans = exporter
      .getFinishedSpans()
      .filter((s: ReadableSpan) => s.name === 'tributary.fragment' && s.attributes['tributary.fragment.id'] === 'rows');
    const describe = (s: ReadableSpan): string => `${String(s.attributes['tributary.batch.index'])}@${String(s.attributes['tributary.attempt'])}:${s.status.code === SpanStatusCode.ERROR ? 'error' : 'ok'}`;
    expect(rowSpans.map(describe).sort()).toEqual(['0@1:ok', '1@1:error', '1@2:ok']);
    for (const s of rowSpans) expect(s.parentSpanContext?.spanId).toBe(query.spanContext().spanId);
  });
});
