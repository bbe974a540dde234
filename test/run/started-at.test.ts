import { afterAll, beforeAll, expect, it } from 'vitest';
import { analyze, createExecutor, postgresSource, type Executor } from '../../src/index.js';
import { collectEvents, ofType } from '../support/engine.js';
import { describeWithServer, eventually, pgAdmin, pgUrl, requireServer, uniqueName, type Admin } from '../support/servers.js';

const pgCheck = await requireServer('postgres');
const lockKey = (): number => Math.floor(Math.random() * 2 ** 31);

// result.fragments[id].startedAt is when the fragment started (its fragment.queued), and durationMs runs
// from there, whatever its status: a fragment the run's end stopped after it waited for a lane slot
// reported its first call's time instead, unlike one that settled.
describeWithServer(pgCheck, 'startedAt and durationMs of stopped fragments, on a real PostgreSQL', () => {
  let admin: Admin;
  let executor: Executor;

  beforeAll(async () => {
    admin = await pgAdmin();
    executor = createExecutor({
      sources: { pg: postgresSource({ url: pgUrl() }), one: postgresSource({ url: pgUrl(), maxConcurrency: 1 }) },
      cache: false,
      retry: { attempts: 1 },
    });
  });
  afterAll(async () => {
    await executor?.close();
    await admin?.exec('SELECT pg_advisory_unlock_all()');
    await admin?.close();
  });

  it('a fragment cancelled by fail-fast after waiting for a slot reports the same start as one that settled', async () => {
    const marker = uniqueName('started_at');
    const [first, second, fail] = [lockKey(), lockKey(), lockKey()];
    for (const k of [first, second, fail]) await admin.exec('SELECT pg_advisory_lock($1::bigint)', [k]);
    const waitFor = (k: number, then = '1'): string => `SELECT ${then} AS x, '${marker}' AS m FROM (SELECT pg_advisory_xact_lock_shared(${k})) g`;
    const waiting = async (n: number): Promise<boolean> =>
      (await admin.exec(`SELECT 1 FROM pg_stat_activity WHERE query LIKE $1 AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`, [`%${marker}%`])).length === n;
    const run = executor.run({
      id: marker,
      fragments: [
        // `one` runs a call at a time: w2 waits for w1's slot.
        { id: 'w1', source: 'one', query: { sql: waitFor(first), params: [] } },
        { id: 'w2', source: 'one', query: { sql: waitFor(second), params: [] } },
        { id: 'bad', source: 'pg', query: { sql: waitFor(fail, '1 / (count(*) - count(*))'), params: [] } },
      ],
      merge: { op: 'union', inputs: ['w1', 'w2', 'bad'] },
    });
    const events = collectEvents(run);
    try {
      expect(await eventually(() => waiting(2), 10_000, 20)).toBe(true);
      await admin.exec('SELECT pg_advisory_unlock($1::bigint)', [first]);
      // w1 answered; w2 has its slot now and waits on the server.
      expect(await eventually(async () => ofType(events, 'fragment.started').some((e) => e.fragmentId === 'w2') && (await waiting(2)), 10_000, 20)).toBe(true);
      await admin.exec('SELECT pg_advisory_unlock($1::bigint)', [fail]);
      const result = await run.result;
      expect(result.status).toBe('failed');
      expect(Object.fromEntries(Object.entries(result.fragments).map(([id, f]) => [id, f.status]))).toEqual({ w1: 'succeeded', w2: 'cancelled', bad: 'failed' });
      const queued = new Map(ofType(events, 'fragment.queued').map((e) => [e.fragmentId, e.at]));
      const firstCall = ofType(events, 'fragment.started').find((e) => e.fragmentId === 'w2')!.at;
      expect(firstCall).toBeGreaterThan(queued.get('w2')!);
      const ended = new Map(events.filter((e) => e.type === 'fragment.succeeded' || e.type === 'fragment.failed' || e.type === 'fragment.cancelled').map((e) => [e.fragmentId, e]));
      for (const id of ['w1', 'w2', 'bad']) {
        const f = result.fragments[id]!;
        const end = ended.get(id)!;
        expect({ id, startedAt: f.startedAt, event: end.startedAt }).toEqual({ id, startedAt: queued.get(id), event: queued.get(id) });
        expect(f.durationMs).toBeCloseTo(end.at - queued.get(id)!, 2);
      }
      // EXPLAIN ANALYZE without the events ends each bar where the events say it ended.
      const bars = analyze(result).fragments;
      for (const id of ['w1', 'w2', 'bad']) expect(bars.find((b) => b.id === id)!.finishedAt).toBeCloseTo(ended.get(id)!.at, 2);
    } finally {
      await admin.exec('SELECT pg_advisory_unlock_all()');
    }
  }, 30_000);
});
