import { afterAll, beforeAll, expect, it } from 'vitest';
import { mysqlSource, type MysqlSourceOptions } from '../../src/sources/mysql/connector.js';
import { localSource, unionPlan, viaPort } from '../support/fault-plans.js';
import { driverCodes, firstFailure, once } from '../support/fault-events.js';
import { networkFaultCases } from '../support/fault-network.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { faultExecutor, probeSource, runScenario, unhandledRejections } from '../support/fault-scenario.js';
import { limitedMysqlUser, mysqlDeadlock, mysqlKillWhenRunning, mysqlRunning, sqlTag } from '../support/fault-server.js';
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
  const plan = (id: string, sql: string, deadlineMs = 5000) => unionPlan(id, { id: 'my', source: 'my', query: { sql } }, { deadlineMs });

  it('retries after KILL CONNECTION of the thread running the fragment', async () => {
    const tag = sqlTag();
    const source = my({ direct: true });
    await runScenario({
      name: 'mysql: KILL CONNECTION of the running fragment',
      server: 'mysql',
      executor: faultExecutor({ my: source, local: localSource() }, { timeoutMs: 3000 }),
      plan: plan('my-kill-connection', sleepySql(tag), 8000),
      during: async () => void (await mysqlKillWhenRunning(admin, tag, 'CONNECTION')),
      expect: 'recovered',
      statementsRunning: () => mysqlRunning(admin, tag),
      probe: () => probeSource(source, { sql: 'SELECT 1 AS ok' }),
      check: ({ events }) => expect(driverCodes(events)).toEqual([expect.stringMatching(/^(1927|2013|PROTOCOL_CONNECTION_LOST)$/)]),
    });
  });

  it('does not retry a statement stopped by KILL QUERY (1317)', async () => {
    const tag = sqlTag();
    const source = my({ direct: true });
    await runScenario({
      name: 'mysql: KILL QUERY of the running fragment (not retryable)',
      server: 'mysql',
      executor: faultExecutor({ my: source, local: localSource() }, { timeoutMs: 3000 }),
      // Two seconds of SLEEP: long enough that a loaded machine still kills it mid-flight.
      plan: plan('my-kill-query', sleepySql(tag, 2), 8000),
      during: async () => void (await mysqlKillWhenRunning(admin, tag, 'QUERY')),
      expect: 'partial',
      cause: { fragmentId: 'my', code: 'FRAGMENT_FAILED', driverCode: '1317' },
      statementsRunning: () => mysqlRunning(admin, tag),
      probe: () => probeSource(source, { sql: 'SELECT 1 AS ok' }),
      check: ({ result }) => expect(result?.fragments.my?.attempts).toBe(1),
    });
  });

  it('retries the side of a forced deadlock InnoDB rolled back (1213)', async () => {
    const tag = sqlTag();
    const locker = await mysqlAdmin(server.url);
    const deadlock = mysqlDeadlock(locker, admin, locks, tag);
    const source = my({ direct: true });
    try {
      await runScenario({
        name: 'mysql: forced deadlock with an admin transaction',
        server: 'mysql',
        executor: faultExecutor({ my: source, local: localSource() }, { timeoutMs: 4000 }),
        plan: plan('my-deadlock', `SELECT id, v, 'my' AS frag FROM ${locks} ORDER BY id FOR UPDATE /* ${tag} */`, 8000),
        inject: () => deadlock.arm(),
        during: () => deadlock.close(),
        heal: () => deadlock.release(),
        expect: 'recovered',
        statementsRunning: () => mysqlRunning(admin, tag),
        probe: () => probeSource(source, { sql: 'SELECT 1 AS ok' }),
        check: ({ events }) => expect(driverCodes(events)).toEqual(['1213']),
      });
    } finally {
      await locker.close();
    }
  });

  it('retries while a user has no connection left, and recovers when one frees up (1226)', async () => {
    const tag = sqlTag();
    const user = await limitedMysqlUser(admin, server.url, [items]);
    const limited = mysqlSource({ url: user.url, connectionLimit: 1, connectTimeout: 1000, name: 'my' });
    try {
      await runScenario({
        name: 'mysql: max_user_connections used up, then freed',
        server: 'mysql',
        baselineExecutor: faultExecutor({ my: my({ direct: true }), local: localSource() }),
        // A few more tries: the freed slot takes a moment to leave the server's books.
        executor: faultExecutor({ my: limited, local: localSource() }, { retry: { attempts: 5 } }),
        plan: plan('my-conn-limit', itemsSql(tag)),
        inject: () => user.occupy(),
        onEvent: once(firstFailure, () => void user.free()),
        heal: () => user.free(),
        expect: 'recovered',
        statementsRunning: () => mysqlRunning(admin, tag),
        probe: () => probeSource(limited, { sql: 'SELECT 1 AS ok' }),
        check: ({ events }) => expect(driverCodes(events)[0]).toBe('1226'),
      });
    } finally {
      await user.drop();
    }
  });

  it('kills a statement that outlives its attempt timeout on the server, leaving nothing running', async () => {
    const tag = sqlTag();
    const source = my({ direct: true });
    await runScenario({
      name: 'mysql: the server turns slow (statement past the attempt timeout)',
      server: 'mysql',
      executor: faultExecutor({ my: source, local: localSource() }, { timeoutMs: 400, retry: { attempts: 2, initialDelayMs: 20, maxDelayMs: 50 } }),
      plan: plan(
        'my-slow',
        `SELECT i.id, i.name, 'my' AS frag FROM ${items} i JOIN (SELECT SLEEP((SELECT s FROM ${knobs})) AS s) z ORDER BY i.id /* ${tag} */`,
        3000,
      ),
      inject: async () => void (await admin.exec(`UPDATE ${knobs} SET s = 5`)),
      heal: async () => void (await admin.exec(`UPDATE ${knobs} SET s = 0`)),
      expect: 'partial',
      cause: { fragmentId: 'my', code: 'TIMEOUT' },
      statementsRunning: () => mysqlRunning(admin, tag),
      probe: () => probeSource(source, { sql: 'SELECT 1 AS ok' }),
    });
  });
});
