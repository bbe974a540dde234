import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, mysqlSource, postgresSource, type Executor, type Row, type SourceExecutor } from '../../src/index.js';
import { describeWithServer, eventually, mysqlAdmin, mysqlUrl, pgAdmin, pgUrl, requireServer, type Admin, type ServerKind } from '../support/servers.js';

/**
 * `run.rows()` over a real server, for each pooled SQL source: batches as the server sends
 * them, a satisfied `limit` merge and a cancelled run stop the statement on the server.
 * (A connector's own streaming, back-pressure and limits are in the contract suite.)
 */

interface Target {
  kind: ServerKind;
  admin(): Promise<Admin>;
  source(): SourceExecutor;
  /** 1..count as `n`, ordered, tagged. */
  numbers(count: number, tag: string): string;
  sleep(tag: string): string;
  running(admin: Admin, tag: string): Promise<number>;
}

const targets: Target[] = [
  {
    kind: 'postgres',
    admin: () => pgAdmin(),
    source: () => postgresSource({ url: pgUrl(), max: 2, streamBatchSize: 500 }),
    numbers: (count, tag) => `SELECT generate_series(1, ${count}) AS n, '${tag}' AS tag`,
    sleep: (tag) => `SELECT pg_sleep(30), '${tag}' AS tag`,
    running: async (admin, tag) =>
      Number((await admin.exec(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1 AND state = 'active' AND pid <> pg_backend_pid()`, [`%${tag}%`]))[0]?.n),
  },
  {
    kind: 'mysql',
    admin: () => mysqlAdmin(),
    source: () => mysqlSource({ url: mysqlUrl(), connectionLimit: 2, streamBatchSize: 500 }),
    numbers: (count, tag) => `SELECT seq AS n, '${tag}' AS tag FROM seq_1_to_${count}`,
    sleep: (tag) => `SELECT SLEEP(30), '${tag}' AS tag`,
    running: async (admin, tag) =>
      Number(
        (await admin.exec(`SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID() AND COMMAND <> 'Sleep'`, [`%${tag}%`]))[0]?.n,
      ),
  },
];

const tag = (what: string) => `${what}_${randomBytes(4).toString('hex')}`;

for (const t of targets) {
  const check = await requireServer(t.kind);
  describeWithServer(check, `streaming a run from ${t.kind}`, () => {
    let executor: Executor;
    let admin: Admin;

    beforeAll(async () => {
      admin = await t.admin();
      executor = createExecutor({ sources: { db: t.source() }, cache: false });
    });

    afterAll(async () => {
      await executor?.close();
      await admin?.close();
    });

    it('streams every row in the source’s batches, equal to the materialized result', async () => {
      const plan = { fragments: [{ id: 'g', source: 'db', query: { sql: t.numbers(20_000, tag('all')) } }] };
      const batches: Row[][] = [];
      for await (const batch of executor.run(plan).rows(10_000)) batches.push(batch);
      expect(batches.length).toBe(40);
      expect(batches.every((b) => b.length === 500)).toBe(true);
      const materialized = await executor.execute(plan);
      expect(materialized.rows).toHaveLength(20_000);
      expect(batches.flat()).toEqual(materialized.rows);
    });

    it('a limit 10 over a streaming query stops it on the server, and the pool answers afterwards', async () => {
      const marker = tag('stream');
      const run = executor.run({ fragments: [{ id: 'g', source: 'db', query: { sql: t.numbers(50_000_000, marker) } }], merge: { op: 'limit', n: 10, input: 'g' } });
      const rows: Row[] = [];
      for await (const batch of run.rows()) rows.push(...batch);
      expect(rows.map((r) => r.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      const result = await run.result;
      expect(result.status).toBe('ok');
      expect(result.fragments.g!.rowCount).toBeLessThan(5000);
      expect(await eventually(async () => (await t.running(admin, marker)) === 0, 2000)).toBe(true);
      const again = await executor.execute({ fragments: [{ id: 'one', source: 'db', query: { sql: 'SELECT 1 AS one' } }] });
      expect(again.rows).toEqual([{ one: 1 }]);
    });

    it('cancelling a streaming run rejects with CANCELLED and stops the statement on the server', async () => {
      const marker = tag('cancel');
      const run = executor.run({ fragments: [{ id: 'slow', source: 'db', query: { sql: t.sleep(marker) } }] });
      const iterate = (async () => {
        for await (const _ of run.rows()) void _;
      })();
      expect(await eventually(async () => (await t.running(admin, marker)) === 1, 3000)).toBe(true);
      run.cancel('test');
      await expect(iterate).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(await eventually(async () => (await t.running(admin, marker)) === 0, 2000)).toBe(true);
    });
  });
}
