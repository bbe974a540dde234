import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, postgresSource, type ExecutionEvent, type QueryResult } from '../../src/index.js';
import { describeWithServer, eventually, pgAdmin, requireServer, uniqueName, type Admin } from '../support/servers.js';

const server = await requireServer('postgres');

/**
 * `optional` is about time only: an optional fragment whose statement fails with a retryable
 * error whose retry cannot fit before the query's deadline is a failure, reported under the
 * errorPolicy, not a fragment dropped for lack of time. (It used to be dropped at once,
 * `reason: 'deadline'`, its error nowhere, and a fail-fast query answered `partial`.)
 * A try that timed out and cannot be retried in time is still dropped.
 */
describeWithServer(server, 'an optional fragment that fails while its retry cannot fit the deadline', () => {
  let admin: Admin;
  let flaky: string;
  beforeAll(async () => {
    admin = await pgAdmin(server.url);
    flaky = uniqueName('flaky');
    // SQLSTATE 40001 (serialization failure): retryable.
    await admin.exec(`CREATE FUNCTION ${flaky}() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001'; END $$`);
  });
  afterAll(async () => {
    await admin.exec(`DROP FUNCTION IF EXISTS ${flaky}()`);
    await admin.close();
  });

  /** Runs A (fast) and D (optional) under a 10 s deadline with a 60 s backoff: no retry of D fits. */
  async function runWith(errorPolicy: 'partial' | 'fail-fast', d: { sql: string; timeoutMs?: number; batched?: boolean }): Promise<{ result: QueryResult; events: ExecutionEvent[] }> {
    const executor = createExecutor({ sources: { pg: postgresSource({ url: server.url, max: 4 }) }, cache: false, retry: { attempts: 3, initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: 'none' } });
    try {
      const run = executor.run(
        {
          errorPolicy,
          fragments: [
            { id: 'A', source: 'pg', query: { sql: 'SELECT g AS id FROM generate_series(1, 3) g' } },
            {
              id: 'D', source: 'pg', optional: true, ...(d.timeoutMs === undefined ? {} : { timeoutMs: d.timeoutMs }),
              // Batched: one call per two of A's ids.
              ...(d.batched ? { dependsOn: ['A'], batch: { param: 0, size: 2 }, query: { sql: d.sql, params: [{ $from: 'A', column: 'id' }] } } : { query: { sql: d.sql } }),
            },
          ],
          merge: { op: 'union', inputs: ['A', 'D'] },
        },
        { deadlineMs: 10_000 },
      );
      const events: ExecutionEvent[] = [];
      run.events$.subscribe((e) => events.push(e));
      return { result: await run.result, events };
    } finally {
      await executor.close();
    }
  }

  it('partial: D is failed, its error in result.errors and completeness, the rest answered', async () => {
    const { result, events } = await runWith('partial', { sql: `SELECT ${flaky}() AS id` });
    expect(result.status).toBe('partial');
    expect(result.rows).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ fragmentId: 'D', code: 'FRAGMENT_FAILED', driverCode: '40001' });
    expect(result.completeness!.fragments).toEqual({ D: expect.objectContaining({ status: 'failed', reason: 'failed', attempts: 1 }) });
    expect(result.fragments.D!.status).toBe('failed');
    expect(events.filter((e) => e.type === 'fragment.failed' && e.fragmentId === 'D')).toHaveLength(1);
    expect(events.some((e) => e.type === 'fragment.dropped')).toBe(false);
  }, 30_000);

  it('fail-fast: the query fails, naming D', async () => {
    const { result } = await runWith('fail-fast', { sql: `SELECT ${flaky}() AS id` });
    expect(result.status).toBe('failed');
    expect(result.errors[0]).toMatchObject({ fragmentId: 'D', code: 'FRAGMENT_FAILED' });
  }, 30_000);

  it('partial, D batched: its batches fail, D is failed once, with its error', async () => {
    const { result } = await runWith('partial', { sql: `SELECT ${flaky}() AS id FROM unnest($1::int[])`, batched: true });
    expect(result.status).toBe('partial');
    expect(result.errors).toEqual([expect.objectContaining({ fragmentId: 'D', driverCode: '40001' })]);
    expect(result.completeness!.fragments).toEqual({ D: expect.objectContaining({ status: 'failed', reason: 'failed' }) });
  }, 30_000);

  it('a try of D that timed out, with no time for another, is still dropped (and its statement stopped)', async () => {
    const tag = uniqueName('slow');
    const { result, events } = await runWith('fail-fast', { sql: `SELECT pg_sleep(60) IS NULL AS id, '${tag}' AS tag`, timeoutMs: 300 });
    expect(result.status).toBe('partial');
    expect(result.errors).toEqual([]);
    expect(result.completeness!.fragments).toEqual({ D: expect.objectContaining({ status: 'dropped', reason: 'deadline' }) });
    expect(events.filter((e) => e.type === 'fragment.dropped')).toHaveLength(1);
    const running = async () => Number((await admin.exec(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()`, [`%${tag}%`]))[0]!.n);
    expect(await eventually(async () => (await running()) === 0, 10_000, 100)).toBe(true);
  }, 30_000);

  it('a batch of D that timed out, with no time for another, drops D', async () => {
    const { result, events } = await runWith('fail-fast', { sql: 'SELECT x AS id FROM unnest($1::int[]) x, pg_sleep(60)', timeoutMs: 300, batched: true });
    expect(result.status).toBe('partial');
    expect(result.errors).toEqual([]);
    expect(result.completeness!.fragments).toEqual({ D: expect.objectContaining({ status: 'dropped', reason: 'deadline' }) });
    expect(events.filter((e) => e.type === 'fragment.dropped')).toHaveLength(1);
  }, 30_000);
});
