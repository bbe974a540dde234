import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, type Executor } from '../../src/executor.js';
import { mysqlSource } from '../../src/sources/mysql/connector.js';
import type { MysqlCredentials } from '../../src/sources/mysql/credentials.js';
import { describeWithServer, eventually, mysqlAdmin, requireServer, scratchTables, uniqueName, type Admin } from '../support/servers.js';

const server = await requireServer('mysql');

/**
 * mysqlSource({ credentials }): each principal's statements run as its own MariaDB/MySQL
 * account, through one small pool per account, at most maxPrincipalPools open (issue 19).
 */
describeWithServer(server, 'mysqlSource({ credentials }) with real accounts (MariaDB/MySQL)', () => {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let tableA: string;
  let tableB: string;
  const userA = uniqueName('trib_a');
  const userB = uniqueName('trib_b');
  const accounts: Record<string, MysqlCredentials> = { alice: { user: userA, password: 'pw-a' }, bob: { user: userB, password: 'pw-b' } };
  let executor: Executor;

  beforeAll(async () => {
    admin = await mysqlAdmin(server.url);
    tables = scratchTables(admin);
    tableA = tables.name('only_a');
    tableB = tables.name('only_b');
    await admin.exec(`CREATE TABLE ${tableA} (id int PRIMARY KEY, v varchar(10))`);
    await admin.exec(`CREATE TABLE ${tableB} (id int PRIMARY KEY, v varchar(10))`);
    await admin.exec(`INSERT INTO ${tableA} VALUES (1, 'a1'), (2, 'a2')`);
    await admin.exec(`INSERT INTO ${tableB} VALUES (3, 'b3')`);
    const db = new URL(server.url).pathname.slice(1);
    for (const [user, password, table] of [[userA, 'pw-a', tableA], [userB, 'pw-b', tableB]] as const) {
      await admin.exec(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
      await admin.exec(`GRANT SELECT ON \`${db}\`.${table} TO '${user}'@'%'`);
    }
    const db1 = mysqlSource({ url: server.url, connectionLimit: 2, maxPrincipalPools: 1, credentials: (p) => (p ? accounts[p.id] : undefined) });
    executor = createExecutor({ sources: { db: db1 }, retry: { attempts: 3, initialDelayMs: 1 } });
  });

  afterAll(async () => {
    await executor?.close();
    for (const user of [userA, userB]) await admin?.exec(`DROP USER IF EXISTS '${user}'@'%'`);
    await tables?.dropAll();
  });

  const read = (table: string, cache = true) => ({
    id: `read-${table}`,
    fragments: [{ id: 'rows', source: 'db', query: { sql: `SELECT id, v, SUBSTRING_INDEX(CURRENT_USER(), '@', 1) AS who FROM ${table} ORDER BY id` }, ...(cache ? {} : { cache: { ttlMs: 0 } }) }],
  });

  /** Connections the server has open for an account. */
  const connectionsOf = async (user: string): Promise<number> =>
    Number((await admin.exec('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?', [user]))[0]!.n);

  it("each principal runs as its own account: its grants apply, also after another's cached run", async () => {
    for (const round of [1, 2]) {
      const a = await executor.execute(read(tableA), { principal: { id: 'alice' } });
      expect(a.rows).toEqual([{ id: 1, v: 'a1', who: userA }, { id: 2, v: 'a2', who: userA }]);
      expect(a.fragments.rows!.cached).toBe(round === 2);
      // bob may not read alice's table: the server refuses, and alice's cached rows are not his.
      const b = await executor.execute(read(tableA), { principal: { id: 'bob' } });
      expect(b.status).toBe('failed');
      expect(b.rows).toEqual([]);
      expect(b.errors[0]!.message).toMatch(/denied/i);
      expect(b.fragments.rows!.attempts).toBe(1);
    }
    expect((await executor.execute(read(tableB), { principal: { id: 'bob' } })).rows).toEqual([{ id: 3, v: 'b3', who: userB }]);
    // Without an account, the source's own user (root here) reads both.
    expect((await executor.execute(read(tableB))).rows).toEqual([{ id: 3, v: 'b3', who: 'root' }]);
  });

  it('keeps at most maxPrincipalPools account pools open: the least recently used one closes', async () => {
    await executor.execute(read(tableA, false), { principal: { id: 'alice' } });
    expect(await connectionsOf(userA)).toBeGreaterThan(0);
    await executor.execute(read(tableB, false), { principal: { id: 'bob' } });
    expect(await eventually(async () => (await connectionsOf(userA)) === 0)).toBe(true);
    expect(await connectionsOf(userB)).toBeGreaterThan(0);
  });

  it('an evicted pool lets its running statement finish, then closes', async () => {
    const slow = executor.execute({ id: 'slow-a', fragments: [{ id: 'rows', source: 'db', query: { sql: `SELECT id, SLEEP(0.3) AS s FROM ${tableA} WHERE id = 1` }, cache: { ttlMs: 0 } }] }, { principal: { id: 'alice' } });
    await new Promise((r) => setTimeout(r, 100));
    // bob's call evicts alice's pool (the bound is 1) while her statement runs.
    await executor.execute(read(tableB, false), { principal: { id: 'bob' } });
    const result = await slow;
    expect(result.status).toBe('ok');
    expect(result.rows).toEqual([{ id: 1, s: 0 }]);
    expect(await eventually(async () => (await connectionsOf(userA)) === 0)).toBe(true);
  });

  it("cancelling a principal's statement kills it on the server with that account's own rights", async () => {
    const run = executor.run({ id: 'slow', fragments: [{ id: 'sleep', source: 'db', query: { sql: 'SELECT SLEEP(5) AS s' }, cache: { ttlMs: 0 } }] }, { principal: { id: 'alice' } });
    const sleeping = async () => Number((await admin.exec("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ? AND INFO LIKE '%SELECT SLEEP%'", [userA]))[0]!.n);
    // The statement runs on the server under alice's account before we cancel it (its text
    // carries its budget first: SET STATEMENT max_statement_time=… FOR SELECT SLEEP…)…
    expect(await eventually(async () => (await sleeping()) > 0, 3000)).toBe(true);
    run.cancel('too slow');
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    // …and is gone from it after, not left sleeping.
    expect(await eventually(async () => (await sleeping()) === 0, 3000)).toBe(true);
  });

  it('credentials may be async (a password from a vault); a rejection fails the fragment without retrying', async () => {
    let asked = 0;
    const vault = mysqlSource({
      url: server.url,
      connectionLimit: 1,
      credentials: async (p) => {
        asked++;
        await new Promise((r) => setTimeout(r, 5));
        if (p?.id === 'mallory') throw new Error('no account for mallory');
        return p ? accounts[p.id] : undefined;
      },
    });
    const viaVault = createExecutor({ sources: { db: vault }, cache: false, retry: { attempts: 3, initialDelayMs: 1 } });
    try {
      const a = await viaVault.execute(read(tableA), { principal: { id: 'alice' } });
      expect(a.rows).toEqual([{ id: 1, v: 'a1', who: userA }, { id: 2, v: 'a2', who: userA }]);
      const streamed: unknown[] = [];
      for await (const batch of viaVault.run(read(tableB), { principal: { id: 'bob' } }).rows()) streamed.push(...batch);
      expect(streamed).toEqual([{ id: 3, v: 'b3', who: userB }]);
      const refused = await viaVault.execute(read(tableA), { principal: { id: 'mallory' } });
      expect(refused.status).toBe('failed');
      expect(refused.errors[0]).toMatchObject({ fragmentId: 'rows', retryable: false, attempt: 1 });
      expect(refused.errors[0]!.message).toContain('the credentials option threw: no account for mallory');
      expect(asked).toBe(3);
    } finally {
      await viaVault.close();
    }
  });

  it("refuses cacheScope 'shared' with credentials, and is per principal otherwise", async () => {
    expect(() => mysqlSource({ url: server.url, credentials: () => undefined, cacheScope: 'shared' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    const s = mysqlSource({ url: server.url, credentials: () => undefined });
    expect(s.cacheScope).toBe('principal');
    await s.close?.();
  });
});
