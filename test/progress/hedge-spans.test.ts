import { SpanStatusCode, type AttributeValue } from '@opentelemetry/api';
import type { BasicTracerProvider, InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { analyze, createExecutor, postgresSource, type Executor } from '../../src/index.js';
import { collectEvents, ofType } from '../support/engine.js';
import { memoryTracer } from '../support/flaky-batch.js';
import { describeWithServer, eventually, pgAdmin, pgUrl, requireServer, uniqueName, type Admin } from '../support/servers.js';

const pgCheck = await requireServer('postgres');
const lockKey = (): number => Math.floor(Math.random() * 2 ** 31);

describeWithServer(pgCheck, 'each call of a hedged request has its own span, on a real PostgreSQL', () => {
  let admin: Admin;
  let exporter: InMemorySpanExporter;
  let provider: BasicTracerProvider;
  let executor: Executor;

  beforeAll(async () => {
    admin = await pgAdmin();
    ({ exporter, provider } = memoryTracer());
    executor = createExecutor({
      sources: { pg: postgresSource({ url: pgUrl(), max: 4 }) },
      cache: false,
      retry: { attempts: 1 },
      hedge: { afterMs: 100, maxExtraRatio: 1 },
      telemetry: { tracer: provider.getTracer('test') },
    });
  });
  afterAll(async () => {
    await executor?.close();
    await admin?.close();
    await provider?.shutdown();
  });

  const callSpans = (queryId: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === 'tributary.fragment' && s.attributes['tributary.query.id'] === queryId);
  const describe = (s: ReadableSpan): Record<string, AttributeValue | undefined | number> => ({
    role: s.attributes['tributary.hedge.role'],
    outcome: s.attributes['tributary.hedge.outcome'],
    status: s.status.code,
    code: s.attributes['tributary.error.code'],
  });

  it('the losing call ends as the lost half of the pair (not an error, not a plain success) and its statement is cancelled', async () => {
    const marker = uniqueName('hedge_span');
    // The first call takes the lock and sleeps 30 s; the hedge cannot take it and answers at once.
    const sql = `SELECT CASE WHEN pg_try_advisory_xact_lock($1::bigint) THEN (SELECT 'first' FROM pg_sleep(30)) ELSE 'hedge' END AS won, '${marker}' AS marker`;
    const run = executor.run({ id: marker, fragments: [{ id: 'slow', source: 'pg', query: { sql, params: [lockKey()] } }] });
    const events = collectEvents(run);
    const result = await run.result;
    expect(result.rows).toEqual([{ won: 'hedge', marker }]);
    expect(ofType(events, 'fragment.hedge.ended').map((e) => ({ call: e.call, outcome: e.outcome, attempt: e.attempt, error: e.error }))).toEqual([{ call: 'primary', outcome: 'lost', attempt: 1, error: undefined }]);

    const spans = callSpans(marker);
    expect(spans.map(describe).sort((a, b) => String(a.role).localeCompare(String(b.role)))).toEqual([
      { role: 'hedge', outcome: 'won', status: SpanStatusCode.UNSET, code: undefined },
      { role: 'primary', outcome: 'lost', status: SpanStatusCode.UNSET, code: undefined },
    ]);
    const primary = spans.find((s) => s.attributes['tributary.hedge.role'] === 'primary')!;
    const hedge = spans.find((s) => s.attributes['tributary.hedge.role'] === 'hedge')!;
    expect(primary.events.map((e) => e.name)).toEqual(['tributary.hedge.cancelled']);
    expect(hedge.attributes).toMatchObject({ 'tributary.attempt': 1, 'tributary.hedge.after_ms': 100, 'tributary.rows': 1, 'tributary.fragment.id': 'slow' });
    const query = exporter.getFinishedSpans().find((s) => s.name === 'tributary.query' && s.attributes['tributary.query.id'] === marker)!;
    for (const s of spans) expect(s.parentSpanContext?.spanId).toBe(query.spanContext().spanId);
    // Result and EXPLAIN ANALYZE count both calls.
    expect(result.fragments['slow']).toMatchObject({ attempts: 1, calls: 2 });
    expect(analyze(result, undefined, { events }).fragments.find((f) => f.id === 'slow')).toMatchObject({ attempts: 1, calls: 2 });
    // The loser's statement was cancelled on the server.
    const sleeping = async (): Promise<boolean> => (await admin.exec(`SELECT 1 FROM pg_stat_activity WHERE query LIKE $1 AND query LIKE '%pg_sleep%' AND state = 'active' AND pid <> pg_backend_pid()`, [`%${marker}%`])).length === 0;
    expect(await eventually(sleeping, 10_000, 100)).toBe(true);
  }, 30_000);

  it('a call that fails while the other still runs ends failed on its own span; the other answers and wins', async () => {
    const marker = uniqueName('hedge_fail');
    const [pair, gate] = [lockKey(), lockKey()];
    // The first call takes `pair`, then waits for `gate` (held here) and casts a bound text that is
    // no integer (the server echoes it); the hedge waits for `pair`, which it gets when the first
    // call's transaction ends, and answers.
    const secret = `SSN-${lockKey()}`;
    const sql = `SELECT CASE WHEN pg_try_advisory_xact_lock($1::bigint)
        THEN (SELECT max($3::text)::int::text FROM (SELECT pg_advisory_xact_lock_shared($2::bigint)) g)
        ELSE (SELECT 'hedge' FROM (SELECT pg_advisory_xact_lock($1::bigint)) l) END AS won, '${marker}' AS marker`;
    await admin.exec('SELECT pg_advisory_lock($1::bigint)', [gate]);
    try {
      const run = executor.run({ id: marker, fragments: [{ id: 'pair', source: 'pg', query: { sql, params: [pair, gate, secret] } }] });
      const events = collectEvents(run);
      // Let the first call fail once both wait on the server: the first for the gate, the hedge for the pair.
      const bothWaiting = async (): Promise<boolean> =>
        (await admin.exec(`SELECT 1 FROM pg_stat_activity WHERE query LIKE $1 AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`, [`%${marker}%`])).length === 2;
      expect(await eventually(bothWaiting, 10_000, 20)).toBe(true);
      expect(ofType(events, 'fragment.hedged')).toHaveLength(1);
      await admin.exec('SELECT pg_advisory_unlock($1::bigint)', [gate]);
      const result = await run.result;
      expect(result.status).toBe('ok');
      expect(result.rows).toEqual([{ won: 'hedge', marker }]);
      expect(ofType(events, 'fragment.attempt.failed')).toEqual([]);
      expect(ofType(events, 'fragment.hedge.ended').map((e) => `${e.call} ${e.outcome} ${e.error?.code}`)).toEqual(['primary failed FRAGMENT_FAILED']);
      // The event and the span carry the server's words with the bound value masked.
      const ended = ofType(events, 'fragment.hedge.ended')[0]!;
      expect(ended.error?.message).toContain('[param]');
      expect(JSON.stringify([ended.error?.message, ended.error?.stack])).not.toContain(secret);
      expect(JSON.stringify(callSpans(marker).map((s) => s.events))).not.toContain(secret);
      expect(callSpans(marker).map(describe).sort((a, b) => String(a.role).localeCompare(String(b.role)))).toEqual([
        { role: 'hedge', outcome: 'won', status: SpanStatusCode.UNSET, code: undefined },
        { role: 'primary', outcome: 'failed', status: SpanStatusCode.ERROR, code: 'FRAGMENT_FAILED' },
      ]);
    } finally {
      await admin.exec('SELECT pg_advisory_unlock_all()');
    }
  }, 30_000);
});
