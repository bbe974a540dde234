import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, from, memorySource, postgresSource, redisStore, type Executor, type Plan, type QueryResult } from '../../../src/index.js';
import { describeRedis } from '../../support/redis.js';
import { snapshotAudit, type SnapshotAudit } from '../../support/snapshot-audit.js';
import { describeWithServer, pgAdmin, pgUrl, requireServer, scratchTables, type Admin } from '../../support/servers.js';

const pgCheck = await requireServer('postgres');

/**
 * Issue 12 under cache hits, on a real PostgreSQL and Redis: a run served whole from the
 * in-process cache (no source actor at all), one served in part (a bound fragment's hit comes
 * from its source actor's pipeline), one whose hits come from the shared Redis level, and an
 * identical fragment that joins another's load in flight. Every snapshot and event kept on
 * arrival is unchanged after each run; the last snapshot counts the hits the result reports.
 */
describeWithServer(pgCheck, 'immutable snapshots: cache hits', () => {
  describeRedis('with the shared level on Redis', () => {
    let admin: Admin;
    let tables: ReturnType<typeof scratchTables>;
    let orders: string;
    let audit: SnapshotAudit;
    let first: Executor;
    let second: Executor;
    const namespace = `imm-cache-${randomUUID()}`;

    const executorOn = (a: SnapshotAudit): Executor =>
      createExecutor({
        sources: {
          mem: memorySource({ tables: { customers: [{ id: 1 }, { id: 2 }, { id: 4 }] } }),
          pg: postgresSource({ url: pgUrl() }),
        },
        cache: { ttlMs: 60_000, store: redisStore({ namespace }) },
        inspect: a.inspect,
      });

    beforeAll(async () => {
      admin = await pgAdmin();
      tables = scratchTables(admin);
      orders = tables.name('imm_cache');
      await admin.exec(`CREATE TABLE ${orders} (id int PRIMARY KEY, customer_id int NOT NULL, total numeric(10,2) NOT NULL)`);
      await admin.exec(`INSERT INTO ${orders} SELECT g, g % 5, g * 1.25 FROM generate_series(1, 50) g`);
      audit = snapshotAudit();
      first = executorOn(audit);
      second = executorOn(audit);
    });
    afterAll(async () => {
      await first?.close();
      await second?.close();
      await first?.cache.invalidate({});
      await tables?.dropAll();
    });

    const plan = (extra = false): Plan => ({
      id: extra ? 'imm-cache-extra' : 'imm-cache',
      fragments: [
        { id: 'customers', source: 'mem', query: { table: 'customers' } },
        { id: 'orders', source: 'pg', dependsOn: ['customers'], query: { sql: `SELECT customer_id, total::text AS total FROM ${orders} WHERE customer_id = ANY($1)`, params: [from('customers', 'id')] } },
        { id: 'count', source: 'pg', query: { sql: `SELECT count(*)::int AS n FROM ${orders}`, params: [] } },
        ...(extra ? [{ id: 'max', source: 'pg', query: { sql: `SELECT max(total)::text AS m FROM ${orders}`, params: [] } }] : []),
      ],
      merge: { op: 'sort', input: 'orders', by: [{ column: 'total' }] },
    });

    async function audited(executor: Executor, p: Plan): Promise<QueryResult> {
      const run = audit.watch(executor.run(p));
      const result = await run.result;
      expect(audit.problems(run, result, p.fragments.map((f) => f.source).filter((s, i, all) => all.indexOf(s) === i))).toEqual([]);
      const oracle = await admin.exec(`SELECT customer_id, total::text AS total FROM ${orders} WHERE customer_id IN (1, 2, 4) ORDER BY total`);
      expect(result.rows).toEqual(oracle);
      return result;
    }

    it('cold, then whole and partial in-process hits, then hits from Redis', async () => {
      const cold = await audited(first, plan());
      expect(cold.stats.cacheHits).toBe(0);

      const whole = await audited(first, plan());
      expect(whole.stats.cacheHits).toBe(3);

      const partial = await audited(first, plan(true));
      expect(Object.entries(partial.fragments).map(([id, f]) => `${id}:${String(f.cached)}`)).toEqual(['customers:true', 'orders:true', 'count:true', 'max:false']);

      // Another executor on the same Redis: its first level is empty, its four hits (max too, stored by the run before) come from Redis.
      const shared = await audited(second, plan(true));
      expect(shared.stats.cacheHits).toBe(4);
    });

    it('an identical fragment joins another’s load in flight', async () => {
      const p: Plan = {
        id: 'imm-cache-joined',
        fragments: [
          { id: 'a', source: 'pg', query: { sql: `SELECT id FROM ${orders}, pg_sleep(0.05) WHERE id < $1 ORDER BY id`, params: [4] } },
          { id: 'b', source: 'pg', query: { sql: `SELECT id FROM ${orders}, pg_sleep(0.05) WHERE id < $1 ORDER BY id`, params: [4] } },
        ],
        merge: { op: 'union', inputs: ['a', 'b'] },
      };
      const run = audit.watch(first.run(p));
      const result = await run.result;
      expect(result.rows).toEqual([1, 2, 3, 1, 2, 3].map((id) => ({ id })));
      expect(result.fragments.a!.calls + result.fragments.b!.calls).toBe(1);
      expect(audit.problems(run, result, ['pg'])).toEqual([]);
    });
  });
});
