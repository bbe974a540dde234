import { SpanStatusCode } from '@opentelemetry/api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, from, memorySource, postgresSource, type Executor } from '../../src/index.js';
import { collectEvents, ofType } from '../support/engine.js';
import { memoryTracer } from '../support/flaky-batch.js';
import { describeWithServer, eventually, pgAdmin, pgUrl, requireServer, uniqueName, type Admin } from '../support/servers.js';

const pgCheck = await requireServer('postgres');

describeWithServer(pgCheck, 'the spans of a batched bind join whose other batch fails, on a real PostgreSQL', () => {
  let admin: Admin;
  let executor: Executor;
  const tracing = memoryTracer();
  const gate = Math.floor(Math.random() * 2 ** 31);

  beforeAll(async () => {
    admin = await pgAdmin();
    executor = createExecutor({
      sources: { keys: memorySource({ tables: { keys: [1, 2, 3, 4].map((k) => ({ k })) } }), pg: postgresSource({ url: pgUrl() }) },
      cache: false,
      retry: { attempts: 1 },
      telemetry: { tracer: tracing.provider.getTracer('test') },
    });
  });
  afterAll(async () => {
    await executor?.close();
    await admin?.exec('SELECT pg_advisory_unlock_all()');
    await admin?.close();
    await tracing.provider.shutdown();
  });

  it('a batch that answered ends its span then, as a success with its rows — not failed later with its fragment', async () => {
    const id = uniqueName('batch_spans');
    await admin.exec('SELECT pg_advisory_lock($1::bigint)', [gate]);
    // The batch holding key 3 waits for the gate (held here), then divides by zero; the other answers at once.
    const sql = `SELECT k AS id FROM unnest($1::int[]) k,
      (SELECT count(*) AS n FROM (SELECT CASE WHEN 3 = ANY($1::int[]) THEN pg_advisory_xact_lock_shared(${gate})::text END) g) w
      WHERE CASE WHEN 3 = ANY($1::int[]) THEN 1 / (w.n - w.n) = 1 ELSE true END`;
    const run = executor.run({
      id,
      errorPolicy: 'partial',
      fragments: [
        { id: 'keys', source: 'keys', query: { table: 'keys' } },
        { id: 'rows', source: 'pg', dependsOn: ['keys'], query: { sql, params: [from('keys', 'k')] }, batch: { param: 0, size: 2 } },
      ],
      merge: { op: 'union', inputs: ['keys', 'rows'] },
    });
    const events = collectEvents(run);
    try {
      expect(await eventually(() => Promise.resolve(ofType(events, 'fragment.batch.succeeded').length === 1), 10_000, 20)).toBe(true);
    } finally {
      await admin.exec('SELECT pg_advisory_unlock($1::bigint)', [gate]);
    }
    const result = await run.result;
    expect(result.status).toBe('partial');
    expect(result.fragments['rows']).toMatchObject({ status: 'failed', calls: 2 });
    expect(ofType(events, 'fragment.batch.succeeded').map((e) => ({ batch: e.batch, attempt: e.attempt, rowCount: e.rowCount }))).toEqual([{ batch: { index: 0, count: 2 }, attempt: 1, rowCount: 2 }]);
    const spans = tracing.exporter.getFinishedSpans().filter((s) => s.name === 'tributary.fragment' && s.attributes['tributary.query.id'] === id && s.attributes['tributary.fragment.id'] === 'rows');
    const byBatch = (i: number) => spans.find((s) => s.attributes['tributary.batch.index'] === i)!;
    expect(spans).toHaveLength(2);
    expect({ status: byBatch(0).status.code, rows: byBatch(0).attributes['tributary.rows'], code: byBatch(0).attributes['tributary.error.code'] }).toEqual({ status: SpanStatusCode.UNSET, rows: 2, code: undefined });
    expect({ status: byBatch(1).status.code, code: byBatch(1).attributes['tributary.error.code'] }).toEqual({ status: SpanStatusCode.ERROR, code: 'FRAGMENT_FAILED' });
  }, 30_000);
});
