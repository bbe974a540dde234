import { afterAll, beforeAll, expect, it } from 'vitest';
import { mysqlSource, type MysqlSourceOptions } from '../../src/sources/mysql/connector.js';
import { viaPort } from '../support/fault-plans.js';
import { networkFaultCases } from '../support/fault-network.js';
import { serverFaultCases } from '../support/fault-server-cases.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { unhandledRejections } from '../support/fault-scenario.js';
import { limitedMysqlUser, mysqlDeadlock, mysqlKillWhenRunning, mysqlRunning } from '../support/fault-server.js';
import { describeWithServer, mysqlAdmin, requireServer, scratchTables, type Admin } from '../support/servers.js';

const server = await requireServer('mysql');

describeWithServer(server, 'fault suite: MariaDB/MySQL', () => {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let proxy: FaultProxy;
  let items: string;
  let locks: string;
  let knobs: string;

  beforeAll(async () => {
    admin = await mysqlAdmin(server.url);
    tables = scratchTables(admin);
    items = tables.name('flt_items');
    locks = tables.name('flt_locks');
    knobs = tables.name('flt_knobs');
    await admin.exec(`CREATE TABLE ${items} (id int PRIMARY KEY, name varchar(200) NOT NULL) ENGINE=InnoDB`);
    await admin.exec(
      `INSERT INTO ${items} (id, name)
       WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 400)
       SELECT n, CONCAT('item ', n, ' ', REPEAT('x', 80)) FROM g`,
    );
    await admin.exec(`CREATE TABLE ${locks} (id int PRIMARY KEY, v int NOT NULL) ENGINE=InnoDB`);
    await admin.exec(`INSERT INTO ${locks} VALUES (1, 10), (2, 20)`);
    await admin.exec(`CREATE TABLE ${knobs} (s double NOT NULL)`);
    await admin.exec(`INSERT INTO ${knobs} VALUES (0)`);
    const u = new URL(server.url);
    proxy = await startFaultProxy({ host: u.hostname, port: Number(u.port || 3306) });
  });

  afterAll(async () => {
    await proxy.close();
    await tables.dropAll();
    expect(unhandledRejections()).toEqual({ count: 0, reasons: [] });
  });

  const my = (options: Partial<MysqlSourceOptions> & { direct?: boolean } = {}) => {
    const { direct, ...rest } = options;
    return mysqlSource({ url: direct ? server.url : viaPort(server.url, proxy.port), connectionLimit: 2, connectTimeout: 1000, name: 'my', ...rest });
  };
  const itemsSql = (tag: string) => `SELECT id, name, 'my' AS frag FROM ${items} ORDER BY id /* ${tag} */`;
  // The derived table is materialized once, so the statement sleeps once, not once a row.
  const sleepySql = (tag: string, seconds = 0.6) =>
    `SELECT i.id, i.name, 'my' AS frag FROM ${items} i JOIN (SELECT SLEEP(${seconds}) AS s) z ORDER BY i.id /* ${tag} */`;

  for (const c of networkFaultCases({
    server: 'mysql',
    id: 'my',
    proxy: () => proxy,
    source: () => my(),
    itemsSql,
    running: (tag) => mysqlRunning(admin, tag),
    resetCodes: /ECONNRESET|PROTOCOL_CONNECTION_LOST/,
    // mysql2's pool hands out its idle connection, dropped by the refusal, before it connects anew.
    refusedCodes: /^(ECONNREFUSED|ECONNRESET)$/,
  })) {
    it(c.name, () => c.run());
  }
  for (const c of serverFaultCases({
    server: 'mysql',
    id: 'my',
    direct: () => my({ direct: true }),
    itemsSql,
    sleepySql,
    running: (tag) => mysqlRunning(admin, tag),
    endSession: { what: 'KILL CONNECTION', run: (tag) => mysqlKillWhenRunning(admin, tag, 'CONNECTION'), codes: /^(1927|2013|PROTOCOL_CONNECTION_LOST)$/ },
    cancelStatement: { what: 'KILL QUERY', run: (tag) => mysqlKillWhenRunning(admin, tag, 'QUERY'), code: '1317' },
    deadlock: {
      source: () => my({ direct: true }),
      sql: (tag) => `SELECT id, v, 'my' AS frag FROM ${locks} ORDER BY id FOR UPDATE /* ${tag} */`,
      start: async (tag) => {
        const locker = await mysqlAdmin(server.url);
        return { ...mysqlDeadlock(locker, admin, locks, tag), dispose: () => locker.close() };
      },
      code: '1213',
    },
    connectionLimit: {
      what: 'a user',
      login: () => limitedMysqlUser(admin, server.url, [items]),
      source: (url) => mysqlSource({ url, connectionLimit: 1, connectTimeout: 1000, name: 'my' }),
      code: '1226',
    },
    slow: {
      sql: (tag) => `SELECT i.id, i.name, 'my' AS frag FROM ${items} i JOIN (SELECT SLEEP((SELECT s FROM ${knobs})) AS s) z ORDER BY i.id /* ${tag} */`,
      set: async (seconds) => void (await admin.exec(`UPDATE ${knobs} SET s = ?`, [seconds])),
    },
  })) {
    it(c.name, () => c.run());
  }
});
