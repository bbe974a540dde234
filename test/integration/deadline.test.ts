import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, mysqlSource, postgresSource, type Executor, type Plan, type SourceExecutor } from '../../src/index.js';
import { describeWithServer, eventually, mysqlAdmin, mysqlUrl, pgAdmin, pgUrl, requireServer, type Admin, type ServerKind } from '../support/servers.js';

/**
 * The query deadline against real servers: an optional slow statement is dropped at the
 * deadline (the query answers `partial` with the fast rows), a required one fails the query
 * with TIMEOUT; either way the statement is cancelled on the server. Timing is checked with a
 * generous margin only (a loaded machine stretches it); the server is the oracle for "nothing
 * left running".
 */

interface Target {
  kind: ServerKind;
  admin(): Promise<Admin>;
  source(): SourceExecutor;
  fast(tag: string): string;
  sleep(tag: string): string;
  running(admin: Admin, tag: string): Promise<number>;
}

const targets: Target[] = [
  {
    kind: 'postgres',
    admin: () => pgAdmin(),
    source: () => postgresSource({ url: pgUrl(), max: 4 }),
    fast: (tag) => `SELECT g AS id, '${tag}' AS tag FROM generate_series(1, 3) g`,
    sleep: (tag) => `SELECT pg_sleep(60) AS slept, '${tag}' AS tag`,
    running: async (admin, tag) =>
      Number((await admin.exec(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()`, [`%${tag}%`]))[0]?.n),
  },
  {
    kind: 'mysql',
    admin: () => mysqlAdmin(),
    source: () => mysqlSource({ url: mysqlUrl(), connectionLimit: 4 }),
    fast: (tag) => `SELECT seq AS id, '${tag}' AS tag FROM seq_1_to_3`,
    sleep: (tag) => `SELECT SLEEP(60) AS slept, '${tag}' AS tag`,
    running: async (admin, tag) =>
      Number(
        (await admin.exec(`SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID() AND COMMAND <> 'Sleep'`, [`%${tag}%`]))[0]?.n,
      ),
  },
];

const unique = (what: string) => `${what}_${randomBytes(4).toString('hex')}`;
/**
 * Far below the 60 s sleep. No wall-clock bound is asserted: a run that waited the statement
 * out would outlast the test's timeout (TEST_TIMEOUT_MS), and fail that way.
 */
const DEADLINE_MS = 1_500;
const TEST_TIMEOUT_MS = 20_000;

for (const t of targets) {
  const check = await requireServer(t.kind);
  describeWithServer(check, `the query deadline on ${t.kind}`, () => {
    let executor: Executor;
    let admin: Admin;

    beforeAll(async () => {
      admin = await t.admin();
      executor = createExecutor({ sources: { db: t.source() }, cache: false, retry: { attempts: 1 } });
      // Connected before the deadline tests: on a loaded machine, opening the pool's first
      // connections could eat the fast fragment's share of the deadline.
      const warm = (i: number): Plan => ({ id: unique('warm'), fragments: [{ id: `w${i}`, source: 'db', query: { sql: t.fast(unique('warm')), params: [] } }] });
      await Promise.all([0, 1].map((i) => executor.execute(warm(i))));
    });

    afterAll(async () => {
      await executor?.close();
      await admin?.close();
    });

    const plan = (tag: string, optional: boolean): Plan => ({
      id: unique('deadline'),
      fragments: [
        { id: 'fast', source: 'db', query: { sql: t.fast(`${tag}_fast`), params: [] } },
        { id: 'slow', source: 'db', query: { sql: t.sleep(tag), params: [] }, ...(optional ? { optional: true } : {}) },
      ],
      merge: { op: 'project', columns: ['id'], input: { op: 'union', inputs: ['fast', 'slow'] } },
    });

    it('drops an optional slow statement at the deadline: partial, the fast rows, nothing left running', async () => {
      const tag = unique('opt');
      const result = await executor.execute(plan(tag, true), { deadlineMs: DEADLINE_MS });
      expect(result.status).toBe('partial');
      expect(result.rows.map((r) => Number(r.id)).sort()).toEqual([1, 2, 3]);
      expect(result.errors).toEqual([]);
      expect(result.completeness.complete).toBe(false);
      expect(result.completeness.fragments.slow).toMatchObject({ status: 'dropped', reason: 'deadline', rowsMayBeMissing: true, attempts: 1 });
      expect(result.completeness.fragments.fast).toBeUndefined();
      expect(await eventually(async () => (await t.running(admin, tag)) === 0, 2_000)).toBe(true);
    }, TEST_TIMEOUT_MS);

    it('sees a running statement by its marker (the check above can fail)', async () => {
      const tag = unique('seen');
      const run = executor.run(plan(tag, true), { deadlineMs: 10_000 });
      expect(await eventually(async () => (await t.running(admin, tag)) === 1, 2_000)).toBe(true);
      run.cancel('seen');
      await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(await eventually(async () => (await t.running(admin, tag)) === 0, 2_000)).toBe(true);
    });

    it('fails with TIMEOUT at the deadline when the slow statement is required, nothing left running', async () => {
      const tag = unique('req');
      const result = await executor.execute(plan(tag, false), { deadlineMs: DEADLINE_MS });
      expect(result.status).toBe('failed');
      expect(result.errors[0]).toMatchObject({ code: 'TIMEOUT', fragmentId: 'slow' });
      expect(await eventually(async () => (await t.running(admin, tag)) === 0, 2_000)).toBe(true);
    }, TEST_TIMEOUT_MS);
  });
}
