import { SpanStatusCode } from '@opentelemetry/api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, from, memorySource, postgresSource, type Executor, type Progress } from '../../src/index.js';
import { collectEvents, ofType } from '../support/engine.js';
import { memoryTracer } from '../support/flaky-batch.js';
import { describeWithServer, eventually, pgAdmin, pgUrl, requireServer, uniqueName, type Admin } from '../support/servers.js';

const pgCheck = await requireServer('postgres');

// README (QueryRun, run.actor): stopping the actor of a running query is a cancel — its calls are
// aborted (so the connector cancels them on the server), `result` rejects with CANCELLED.
describeWithServer(pgCheck, 'run.actor.stop() on a running query, on a real PostgreSQL', () => {
  let admin: Admin;
  let executor: Executor;
  const tracing = memoryTracer();

  beforeAll(async () => {
    admin = await pgAdmin();
    executor = createExecutor({
      sources: { pg: postgresSource({ url: pgUrl() }), keys: memorySource({ tables: { keys: [1, 2, 3, 4].map((k) => ({ k })) } }) },
      cache: false,
      hedge: { afterMs: 50, maxExtraRatio: 1 },
      telemetry: { tracer: tracing.provider.getTracer('test') },
    });
  });
  afterAll(async () => {
    await executor?.close();
    await admin?.close();
    await tracing.provider.shutdown();
  });

  it('cancels every statement it runs on the server — a hedged pair and two batches — and settles CANCELLED', async () => {
    const marker = uniqueName('actor_stop');
    const active = async (): Promise<number> => (await admin.exec(`SELECT 1 FROM pg_stat_activity WHERE query LIKE $1 AND state = 'active' AND pid <> pg_backend_pid()`, [`%${marker}%`])).length;
    const run = executor.run({
      id: marker,
      fragments: [
        { id: 'keys', source: 'keys', query: { table: 'keys' } },
        { id: 'pair', source: 'pg', query: { sql: `SELECT '${marker}' AS m FROM pg_sleep(30)`, params: [] } },
        { id: 'rows', source: 'pg', dependsOn: ['keys'], query: { sql: `SELECT k, '${marker}' AS m FROM unnest($1::int[]) k, pg_sleep(30)`, params: [from('keys', 'k')] }, batch: { param: 0, size: 2 }, hedge: false },
      ],
      schedule: 'eager',
    });
    const events = collectEvents(run);
    const progress: Progress[] = [];
    const completed: string[] = [];
    run.progress$.subscribe({ next: (p) => progress.push(p), complete: () => completed.push('progress$') });
    run.events$.subscribe({ complete: () => completed.push('events$') });
    run.actor.subscribe({ complete: () => completed.push('actor') });
    // The pair's two calls and the two batches sleep on the server.
    expect(await eventually(async () => (await active()) === 4, 10_000, 20)).toBe(true);
    run.actor.stop();
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await eventually(async () => (await active()) === 0, 10_000, 50)).toBe(true);
    expect(ofType(events, 'fragment.cancelled').map((e) => `${e.fragmentId}:${e.calls}`).sort()).toEqual(['pair:2', 'rows:2']);
    expect(events.at(-1)?.type).toBe('query.failed');
    expect(progress.at(-1)).toMatchObject({ total: 3, succeeded: 1, cancelled: 2, running: 0, done: true });
    expect(run.actor.getSnapshot().status).toBe('stopped');
    // Every stream the run offers ends: nothing waits on a stopped run for ever.
    expect(completed.sort()).toEqual(['actor', 'events$', 'progress$']);
    expect(executor.metrics().runningQueries).toBe(0);
    // Every call had its span, ended as cancelled with the run.
    const calls = tracing.exporter.getFinishedSpans().filter((s) => s.name === 'tributary.fragment' && s.attributes['tributary.query.id'] === marker && s.attributes['tributary.fragment.id'] !== 'keys');
    expect(calls.map((s) => `${String(s.attributes['tributary.fragment.id'])} ${String(s.attributes['tributary.hedge.role'] ?? '-')} ${String(s.attributes['tributary.error.code'])}`).sort()).toEqual([
      'pair hedge CANCELLED',
      'pair primary CANCELLED',
      'rows - CANCELLED',
      'rows - CANCELLED',
    ]);
    expect(calls.every((s) => s.status.code === SpanStatusCode.ERROR)).toBe(true);
  }, 30_000);
});
