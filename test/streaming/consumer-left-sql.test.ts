import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, memorySource, mysqlSource, postgresSource, type Executor, type SourceExecutor } from '../../src/index.js';
import { describeWithServer, eventually, mysqlAdmin, mysqlUrl, pgAdmin, pgUrl, requireServer, type Admin, type ServerKind } from '../support/servers.js';

/**
 * Leaving `run.rows()` while a SQL fragment has not sent a batch yet (its statement still
 * sleeping on the server): the statement is cancelled on the server at once, and the run
 * resolves `ok` with the fragment cut short (`consumer-left`) — not when the sleep ends.
 */

interface Target {
  kind: ServerKind;
  admin(): Promise<Admin>;
  source(): SourceExecutor;
  sleep(tag: string): string;
  running(admin: Admin, tag: string): Promise<number>;
}

const targets: Target[] = [
  {
    kind: 'postgres',
    admin: () => pgAdmin(),
    source: () => postgresSource({ url: pgUrl(), max: 2 }),
    sleep: (tag) => `SELECT 1 AS x, '${tag}' AS tag FROM pg_sleep(20)`,
    running: async (admin, tag) =>
      Number((await admin.exec(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1 AND state = 'active' AND pid <> pg_backend_pid()`, [`%${tag}%`]))[0]?.n),
  },
  {
    kind: 'mysql',
    admin: () => mysqlAdmin(),
    source: () => mysqlSource({ url: mysqlUrl(), connectionLimit: 2 }),
    sleep: (tag) => `SELECT SLEEP(20) AS x, '${tag}' AS tag`,
    running: async (admin, tag) =>
      Number(
        (await admin.exec(`SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID() AND COMMAND <> 'Sleep'`, [`%${tag}%`]))[0]?.n,
      ),
  },
];

for (const t of targets) {
  const check = await requireServer(t.kind);
  describeWithServer(check, `leaving run.rows() early over ${t.kind}`, () => {
    let executor: Executor;
    let admin: Admin;

    beforeAll(async () => {
      admin = await t.admin();
      executor = createExecutor({ sources: { mem: memorySource({ tables: { t: [{ x: 0, tag: 'memory' }] } }), db: t.source() }, cache: false });
    });

    afterAll(async () => {
      await executor?.close();
      await admin?.close();
    });

    it('cancels a statement that has not sent a batch yet on the server, and the run resolves ok, cut short', async () => {
      const marker = `left_${randomBytes(4).toString('hex')}`;
      const run = executor.run({
        fragments: [
          { id: 'm', source: 'mem', query: { table: 't' } },
          { id: 'slow', source: 'db', query: { sql: t.sleep(marker) } },
        ],
        merge: { op: 'union', inputs: ['m', 'slow'] },
      });
      let sleeping = false;
      for await (const batch of run.rows()) {
        expect(batch).toEqual([{ x: 0, tag: 'memory' }]);
        // Leave only once the statement is running on the server.
        sleeping = await eventually(async () => (await t.running(admin, marker)) === 1, 5000);
        break;
      }
      expect(sleeping).toBe(true);
      // Gone from the server well before its sleep would end.
      expect(await eventually(async () => (await t.running(admin, marker)) === 0, 3000)).toBe(true);
      const result = await run.result;
      expect(result.status).toBe('ok');
      expect(result.errors).toEqual([]);
      expect(result.completeness).toEqual({
        complete: false,
        fragments: { slow: { status: 'succeeded', reason: 'consumer-left', rowsMayBeMissing: true, attempts: 1, cached: false, usedMs: expect.any(Number) } },
      });
      // The pool took the cancelled connection back: the source answers the next run.
      const again = await executor.execute({ fragments: [{ id: 'one', source: 'db', query: { sql: 'SELECT 1 AS one' } }] });
      expect(again.rows).toEqual([{ one: 1 }]);
    });
  });
}
