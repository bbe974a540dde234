import { afterAll, beforeAll, expect, it } from 'vitest';
import { mysqlSource } from '../../src/index.js';
import { describeWithServer, eventually, mysqlAdmin, requireServer, scratchTables, uniqueName, type Admin } from '../support/servers.js';

const server = await requireServer('mysql');

/** 30 s of server time in short sleeps (which MariaDB does not cut short), needing no table. */
const LONG = (marker: string) => `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) SELECT SUM(SLEEP(0.1)) AS s FROM n /* ${marker} */`;

/**
 * A principal's account whose `MAX_USER_CONNECTIONS` its pool uses up: an aborted call's
 * KILL QUERY cannot open a side connection as that account, so the source's own account
 * sends it. Before, the statement ran on after the abort (to its budget, or its end).
 */
describeWithServer(server, 'mysqlSource({ credentials }): aborting a call of an account at its connection limit', () => {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  const user = uniqueName('trib_limit');

  beforeAll(async () => {
    admin = await mysqlAdmin(server.url);
    tables = scratchTables(admin);
    const table = tables.name('limited');
    await admin.exec(`CREATE TABLE ${table} (id INT)`);
    await admin.exec(`CREATE USER '${user}'@'%' IDENTIFIED BY 'pw' WITH MAX_USER_CONNECTIONS 1`);
    await admin.exec(`GRANT SELECT ON \`${new URL(server.url).pathname.slice(1)}\`.${table} TO '${user}'@'%'`);
  });
  afterAll(async () => {
    await admin?.exec(`DROP USER IF EXISTS '${user}'@'%'`);
    await tables?.dropAll();
  });

  const running = async (marker: string) =>
    Number((await admin.exec(`SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID()`, [`%${marker}%`]))[0]!.n);

  it('stops the statement on the server through the source own account', { timeout: 30_000 }, async () => {
    const source = mysqlSource({ url: server.url, connectionLimit: 1, credentials: () => ({ user, password: 'pw' }) });
    const marker = uniqueName('at_limit');
    const controller = new AbortController();
    try {
      const call = source.execute({ sql: LONG(marker) }, { params: [], signal: controller.signal, principal: { id: 'p' } });
      call.catch(() => undefined);
      expect(await eventually(async () => (await running(marker)) === 1, 10_000)).toBe(true);
      controller.abort(new Error('stop'));
      await expect(call).rejects.toThrow('stop');
      expect(await eventually(async () => (await running(marker)) === 0, 5000)).toBe(true);
    } finally {
      await source.close();
      for (const row of await admin.exec(`SELECT ID AS id FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID()`, [`%${marker}%`])) await admin.exec(`KILL ${Number(row.id)}`);
    }
  });
});
