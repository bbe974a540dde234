import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mysqlSource } from '../../src/index.js';
import { describeWithServer, eventually, mysqlAdmin, requireServer, scratchTables, uniqueName, type Admin } from '../support/servers.js';

const server = await requireServer('mysql');

/** 30 s of server time in short sleeps (which MariaDB does not cut short), needing no table. */
const LONG = 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) SELECT SUM(SLEEP(0.1)) AS s FROM n';

/**
 * `mysqlSource().stopTagged(tag, { principal })`, what a BullMQ worker runs for a job whose
 * worker died: it stops the statement carrying the call's tag, sent by another source
 * instance (another process), through the principal's own account, which sees and may kill
 * its own threads only.
 */
describeWithServer(server, 'mysqlSource: stopping a tagged statement from elsewhere (MariaDB)', () => {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  const alice = uniqueName('trib_tag_a');
  const bob = uniqueName('trib_tag_b');
  const accounts: Record<string, { user: string; password: string }> = { alice: { user: alice, password: 'pw-a' }, bob: { user: bob, password: 'pw-b' } };
  const options = { url: server.url, connectionLimit: 1, credentials: (p: { id: string } | undefined) => (p ? accounts[p.id] : undefined) };

  beforeAll(async () => {
    admin = await mysqlAdmin(server.url);
    tables = scratchTables(admin);
    // A grant in the URL's database, so the accounts may connect to it.
    const table = tables.name('tagged');
    await admin.exec(`CREATE TABLE ${table} (id INT)`);
    const db = new URL(server.url).pathname.slice(1);
    for (const { user, password } of Object.values(accounts)) {
      await admin.exec(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
      await admin.exec(`GRANT SELECT ON \`${db}\`.${table} TO '${user}'@'%'`);
    }
  });
  afterAll(async () => {
    for (const { user } of Object.values(accounts)) await admin?.exec(`DROP USER IF EXISTS '${user}'@'%'`);
    await tables?.dropAll();
  });

  const running = async (tag: string) =>
    Number((await admin.exec(`SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID()`, [`/* tributary call ${tag} */%`]))[0]!.n);

  it("stops it as the call's principal only, and nothing for another account, a look-alike or a malformed tag", { timeout: 30_000 }, async () => {
    const sender = mysqlSource(options);
    const reaper = mysqlSource(options);
    const tag = randomUUID();
    try {
      const call = sender.execute({ sql: LONG }, { params: [], signal: new AbortController().signal, principal: { id: 'alice' }, callTag: tag });
      call.catch(() => undefined);
      expect(await eventually(async () => (await running(tag)) === 1, 10_000)).toBe(true);

      // Bob's account cannot see Alice's thread; a tag that only starts like it is another call's.
      expect(await reaper.stopTagged!(tag, { principal: { id: 'bob' } })).toBe(0);
      expect(await reaper.stopTagged!(tag.slice(0, -1), { principal: { id: 'alice' } })).toBe(0);
      expect(await reaper.stopTagged!(`${tag} */ OR 1`, { principal: { id: 'alice' } })).toBe(0);
      expect(await running(tag)).toBe(1);

      expect(await reaper.stopTagged!(tag, { principal: { id: 'alice' } })).toBe(1);
      await expect(call).rejects.toMatchObject({ driverCode: '1317' });
      expect(await running(tag)).toBe(0);
      // Gone already: nothing more to stop.
      expect(await reaper.stopTagged!(tag, { principal: { id: 'alice' } })).toBe(0);
    } finally {
      await Promise.all([sender.close(), reaper.close()]);
    }
  });
});
