import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, memorySource, mysqlSource, postgresSource, type Executor, type SourceExecutor } from '../../src/index.js';
import { describeWithServer, eventually, mysqlAdmin, mysqlUrl, pgAdmin, pgUrl, requireServer, type Admin, type ServerKind } from '../support/servers.js';

/**
 * A full streamed `limit` stops a SQL fragment that another fragment binds, once that one's
 * rows are unwanted too: its statement is cancelled on the server at once. Before, it was
 * kept running (for the fragment that binds it, whose rows the limit did not want either)
 * until the statement ended on its own.
 */

interface Target {
  kind: ServerKind;
  admin(): Promise<Admin>;
  source(): SourceExecutor;
  sleep(tag: string): string;
  running(admin: Admin, tag: string): Promise<number>;
  /** A statement that waits for the lock `key` the admin holds (`lock`), and lets it go. */
  gate(key: number): string;
  lock(admin: Admin, key: number): Promise<unknown>;
  unlock(admin: Admin, key: number): Promise<unknown>;
}

const targets: Target[] = [
  {
    kind: 'postgres',
    admin: () => pgAdmin(),
    source: () => postgresSource({ url: pgUrl(), max: 2 }),
    sleep: (tag) => `SELECT 1 AS x, '${tag}' AS tag FROM pg_sleep(20)`,
    running: async (admin, tag) =>
      Number((await admin.exec(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1 AND state = 'active' AND pid <> pg_backend_pid()`, [`%${tag}%`]))[0]?.n),
    gate: (key) => `SELECT 1 AS ok FROM (SELECT pg_advisory_xact_lock(${key})) l`,
    lock: (admin, key) => admin.exec('SELECT pg_advisory_lock($1)', [key]),
    unlock: (admin, key) => admin.exec('SELECT pg_advisory_unlock($1)', [key]),
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
    gate: (key) => `SELECT GET_LOCK('tributary_${key}', 30) AS ok, RELEASE_LOCK('tributary_${key}') AS released`,
    lock: (admin, key) => admin.exec('SELECT GET_LOCK(?, 30)', [`tributary_${key}`]),
    unlock: (admin, key) => admin.exec('SELECT RELEASE_LOCK(?)', [`tributary_${key}`]),
  },
];

for (const t of targets) {
  const check = await requireServer(t.kind);
  describeWithServer(check, `a full streamed limit over ${t.kind}`, () => {
    let executor: Executor;
    let admin: Admin;

    beforeAll(async () => {
      admin = await t.admin();
      const mem = memorySource({ tables: { t: [{ x: 10, tag: 'a' }, { x: 11, tag: 'b' }, { x: 1, tag: 'c' }] } });
      executor = createExecutor({ sources: { mem, db: t.source() }, cache: false });
    });

    afterAll(async () => {
      await executor?.close();
      await admin?.close();
    });

    it('cancels on the server a statement whose rows only a fragment the limit no longer wants binds', async () => {
      const marker = `limitbound_${randomBytes(4).toString('hex')}`;
      const key = randomBytes(4).readUInt32BE() & 0x7fffffff;
      // The memory rows that fill the limit wait for 'gate', which waits for the admin's lock:
      // released only once the slow statement is on the server.
      await t.lock(admin, key);
      const run = executor.run({
        schedule: 'eager',
        fragments: [
          { id: 'slow', source: 'db', query: { sql: t.sleep(marker) } },
          { id: 'gate', source: 'db', query: { sql: t.gate(key) } },
          { id: 'm', source: 'mem', dependsOn: ['gate'], query: { table: 't' } },
          { id: 'dep', source: 'mem', dependsOn: ['slow'], query: { table: 't', where: { in: ['x', { $from: 'slow', column: 'x' }] } } },
        ],
        merge: { op: 'limit', n: 2, input: { op: 'union', inputs: ['slow', 'm', 'dep'] } },
      });
      const batches = run.rows();
      const sleeping = await eventually(async () => (await t.running(admin, marker)) === 1, 5000);
      await t.unlock(admin, key);
      expect(sleeping).toBe(true);
      const rows: unknown[] = [];
      for await (const batch of batches) rows.push(...batch);
      expect(rows).toEqual([{ x: 10, tag: 'a' }, { x: 11, tag: 'b' }]);
      // Gone from the server well before its 20 s sleep would end.
      expect(await eventually(async () => (await t.running(admin, marker)) === 0, 3000)).toBe(true);
      const result = await run.result;
      expect(result.status).toBe('ok');
      expect(result.completeness.complete).toBe(true);
      expect(result.completeness.fragments).toMatchObject({ slow: { reason: 'limit-stopped' }, dep: { reason: 'limit-satisfied', attempts: 0 } });
      expect(result.completeness.fragments.gate).toBeUndefined();
    });
  });
}
