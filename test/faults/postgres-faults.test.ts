import { afterAll, beforeAll, expect, it } from 'vitest';
import { postgresSource, type PostgresSourceOptions } from '../../src/sources/postgres/connector.js';
import { viaPort } from '../support/fault-plans.js';
import { networkFaultCases } from '../support/fault-network.js';
import { serverFaultCases } from '../support/fault-server-cases.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { unhandledRejections } from '../support/fault-scenario.js';
import { limitedPgRole, pgDeadlock, pgKillWhenRunning, pgRunning } from '../support/fault-server.js';
import { describeWithServer, pgAdmin, requireServer, scratchTables, type Admin } from '../support/servers.js';

const server = await requireServer('postgres');

describeWithServer(server, 'fault suite: PostgreSQL', () => {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let proxy: FaultProxy;
  let items: string;
  let locks: string;
  let knobs: string;

  beforeAll(async () => {
    admin = await pgAdmin(server.url);
    tables = scratchTables(admin);
    items = tables.name('flt_items');
    locks = tables.name('flt_locks');
    knobs = tables.name('flt_knobs');
    // ~40 KB of result: several TCP chunks, so a reset or a throttle lands mid-result.
    await admin.exec(`CREATE TABLE ${items} (id int PRIMARY KEY, name text NOT NULL)`);
    await admin.exec(`INSERT INTO ${items} SELECT g, 'item ' || g || ' ' || repeat('x', 80) FROM generate_series(1, 400) g`);
    await admin.exec(`CREATE TABLE ${locks} (id int PRIMARY KEY, v int NOT NULL)`);
    await admin.exec(`INSERT INTO ${locks} VALUES (1, 10), (2, 20)`);
    // How long the "slow server" statement sleeps; 0 for the baseline.
    await admin.exec(`CREATE TABLE ${knobs} (s float8 NOT NULL)`);
    await admin.exec(`INSERT INTO ${knobs} VALUES (0)`);
    const u = new URL(server.url);
    proxy = await startFaultProxy({ host: u.hostname, port: Number(u.port || 5432) });
  });

  afterAll(async () => {
    await proxy.close();
    await tables.dropAll();
    expect(unhandledRejections()).toEqual({ count: 0, reasons: [] });
  });

  /** A pg source through the proxy (or straight to the server), with short connect timeouts. */
  const pg = (options: Partial<PostgresSourceOptions> & { direct?: boolean } = {}) => {
    const { direct, ...rest } = options;
    return postgresSource({ url: direct ? server.url : viaPort(server.url, proxy.port), max: 2, connectionTimeoutMillis: 1000, name: 'pg', ...rest });
  };
  const itemsSql = (tag: string) => `SELECT id, name, 'pg' AS frag FROM ${items} ORDER BY id /* ${tag} */`;
  const sleepySql = (tag: string, seconds = 0.6) => `SELECT id, name, 'pg' AS frag FROM ${items}, pg_sleep(${seconds}) ORDER BY id /* ${tag} */`;

  for (const c of networkFaultCases({
    server: 'postgres',
    id: 'pg',
    proxy: () => proxy,
    source: () => pg(),
    itemsSql,
    running: (tag) => pgRunning(admin, tag),
    resetCodes: /ECONNRESET|PG_CONNECTION_LOST/,
    refusedCodes: /^ECONNREFUSED$/,
    // Let the pool see its idle connection die, so the next call has to connect anew.
    afterRefuse: () => new Promise((resolve) => setTimeout(resolve, 50)),
  })) {
    it(c.name, () => c.run());
  }

  for (const c of serverFaultCases({
    server: 'postgres',
    id: 'pg',
    direct: () => pg({ direct: true }),
    itemsSql,
    sleepySql,
    running: (tag) => pgRunning(admin, tag),
    endSession: { what: 'pg_terminate_backend', run: (tag) => pgKillWhenRunning(admin, tag, 'terminate'), codes: /^57P01$/ },
    cancelStatement: { what: 'pg_cancel_backend', run: (tag) => pgKillWhenRunning(admin, tag, 'cancel'), code: '57014' },
    deadlock: {
      // A shorter deadlock_timeout on the engine's side than the locker's, so the engine's backend
      // finds the cycle and gives way (long enough for the locker to close the cycle first).
      source: () => pg({ direct: true, options: '-c deadlock_timeout=1000' }),
      sql: (tag) => `SELECT id, v, 'pg' AS frag FROM ${locks} ORDER BY id FOR UPDATE /* ${tag} */`,
      start: async (tag) => {
        const locker = await pgAdmin(server.url);
        return { ...pgDeadlock(locker, admin, locks, tag), dispose: () => locker.close() };
      },
      code: '40P01',
    },
    connectionLimit: {
      what: 'a role',
      login: () => limitedPgRole(admin, server.url, [items]),
      source: (url) => postgresSource({ url, max: 1, connectionTimeoutMillis: 1000, name: 'pg' }),
      code: '53300',
    },
    slow: {
      sql: (tag) => `SELECT id, name, 'pg' AS frag FROM ${items}, pg_sleep((SELECT s FROM ${knobs})) ORDER BY id /* ${tag} */`,
      set: async (seconds) => void (await admin.exec(`UPDATE ${knobs} SET s = $1`, [seconds])),
    },
  })) {
    it(c.name, () => c.run());
  }
});
