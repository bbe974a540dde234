import { afterAll, beforeAll, expect, it } from 'vitest';
import { postgresSource, type PostgresSourceOptions } from '../../src/sources/postgres/connector.js';
import { localSource, unionPlan, viaPort } from '../support/fault-plans.js';
import { driverCodes, firstFailure, once } from '../support/fault-events.js';
import { networkFaultCases } from '../support/fault-network.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { faultExecutor, probeSource, runScenario, unhandledRejections } from '../support/fault-scenario.js';
import { limitedPgRole, pgDeadlock, pgKillWhenRunning, pgRunning, sqlTag } from '../support/fault-server.js';
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

  it('retries after pg_terminate_backend kills the backend running the fragment', async () => {
    const tag = sqlTag();
    const source = pg({ direct: true });
    await runScenario({
      name: 'postgres: pg_terminate_backend of the running fragment',
      server: 'postgres',
      executor: faultExecutor({ pg: source, local: localSource() }, { timeoutMs: 3000 }),
      plan: unionPlan('pg-terminate', { id: 'pg', source: 'pg', query: { sql: sleepySql(tag) } }, { deadlineMs: 8000 }),
      during: async () => void (await pgKillWhenRunning(admin, tag, 'terminate')),
      expect: 'recovered',
      statementsRunning: () => pgRunning(admin, tag),
      probe: () => probeSource(source, { sql: 'SELECT 1 AS ok' }),
      check: ({ events }) => expect(driverCodes(events)).toEqual(['57P01']),
    });
  });

  it('does not retry a statement cancelled by an operator (57014)', async () => {
    const tag = sqlTag();
    const source = pg({ direct: true });
    await runScenario({
      name: 'postgres: pg_cancel_backend of the running fragment (not retryable)',
      server: 'postgres',
      executor: faultExecutor({ pg: source, local: localSource() }, { timeoutMs: 3000 }),
      // Two seconds of pg_sleep: long enough that a loaded machine still cancels it mid-flight.
      plan: unionPlan('pg-cancel', { id: 'pg', source: 'pg', query: { sql: sleepySql(tag, 2) } }, { deadlineMs: 8000 }),
      during: async () => void (await pgKillWhenRunning(admin, tag, 'cancel')),
      expect: 'partial',
      cause: { fragmentId: 'pg', code: 'FRAGMENT_FAILED', driverCode: '57014' },
      statementsRunning: () => pgRunning(admin, tag),
      probe: () => probeSource(source, { sql: 'SELECT 1 AS ok' }),
      check: ({ result }) => expect(result?.fragments.pg?.attempts).toBe(1),
    });
  });

  it('retries the side of a forced deadlock the server aborted (40P01)', async () => {
    const tag = sqlTag();
    const locker = await pgAdmin(server.url);
    const deadlock = pgDeadlock(locker, admin, locks, tag);
    // A shorter deadlock_timeout on the engine's side than the locker's, so the engine's backend
    // finds the cycle and gives way (long enough for the locker to close the cycle first).
    const source = pg({ direct: true, options: '-c deadlock_timeout=1000' });
    try {
      await runScenario({
        name: 'postgres: forced deadlock with an admin transaction',
        server: 'postgres',
        executor: faultExecutor({ pg: source, local: localSource() }, { timeoutMs: 4000 }),
        plan: unionPlan('pg-deadlock', { id: 'pg', source: 'pg', query: { sql: `SELECT id, v, 'pg' AS frag FROM ${locks} ORDER BY id FOR UPDATE /* ${tag} */` } }, { deadlineMs: 8000 }),
        inject: () => deadlock.arm(),
        during: () => deadlock.close(),
        heal: () => deadlock.release(),
        expect: 'recovered',
        statementsRunning: () => pgRunning(admin, tag),
        probe: () => probeSource(source, { sql: 'SELECT 1 AS ok' }),
        check: ({ events }) => expect(driverCodes(events)).toEqual(['40P01']),
      });
    } finally {
      await locker.close();
    }
  });

  it('retries while a role has no connection left, and recovers when one frees up (53300)', async () => {
    const tag = sqlTag();
    const role = await limitedPgRole(admin, server.url, [items]);
    const limited = postgresSource({ url: role.url, max: 1, connectionTimeoutMillis: 1000, name: 'pg' });
    try {
      await runScenario({
        name: 'postgres: role connection limit used up, then freed',
        server: 'postgres',
        // The baseline runs as postgres: the limited pool stays empty until the fault.
        baselineExecutor: faultExecutor({ pg: pg({ direct: true }), local: localSource() }),
        // A few more tries: the freed slot takes a moment to leave the server's books.
        executor: faultExecutor({ pg: limited, local: localSource() }, { retry: { attempts: 5 } }),
        plan: unionPlan('pg-conn-limit', { id: 'pg', source: 'pg', query: { sql: itemsSql(tag) } }, { deadlineMs: 5000 }),
        inject: () => role.occupy(),
        onEvent: once(firstFailure, () => void role.free()),
        heal: () => role.free(),
        expect: 'recovered',
        statementsRunning: () => pgRunning(admin, tag),
        probe: () => probeSource(limited, { sql: 'SELECT 1 AS ok' }),
        check: ({ events }) => expect(driverCodes(events)[0]).toBe('53300'),
      });
    } finally {
      await role.drop();
    }
  });

  it('fails the fragment, naming 53300, while the connection limit stays used up', async () => {
    const tag = sqlTag();
    const role = await limitedPgRole(admin, server.url, [items]);
    const limited = postgresSource({ url: role.url, max: 1, connectionTimeoutMillis: 1000, name: 'pg' });
    try {
      await runScenario({
        name: 'postgres: role connection limit used up for good',
        server: 'postgres',
        baselineExecutor: faultExecutor({ pg: pg({ direct: true }), local: localSource() }),
        executor: faultExecutor({ pg: limited, local: localSource() }),
        plan: unionPlan('pg-conn-limit-always', { id: 'pg', source: 'pg', query: { sql: itemsSql(tag) } }, { deadlineMs: 5000 }),
        inject: () => role.occupy(),
        heal: () => role.free(),
        expect: 'partial',
        cause: { fragmentId: 'pg', code: 'SOURCE_UNAVAILABLE', driverCode: '53300' },
        statementsRunning: () => pgRunning(admin, tag),
        probe: () => probeSource(limited, { sql: 'SELECT 1 AS ok' }),
      });
    } finally {
      await role.drop();
    }
  });

  it('cancels a statement that outlives its attempt timeout on the server, leaving nothing running', async () => {
    const tag = sqlTag();
    const source = pg({ direct: true });
    await runScenario({
      name: 'postgres: the server turns slow (statement past the attempt timeout)',
      server: 'postgres',
      executor: faultExecutor({ pg: source, local: localSource() }, { timeoutMs: 400, retry: { attempts: 2, initialDelayMs: 20, maxDelayMs: 50 } }),
      plan: unionPlan(
        'pg-slow',
        { id: 'pg', source: 'pg', query: { sql: `SELECT id, name, 'pg' AS frag FROM ${items}, pg_sleep((SELECT s FROM ${knobs})) ORDER BY id /* ${tag} */` } },
        { deadlineMs: 3000 },
      ),
      inject: async () => void (await admin.exec(`UPDATE ${knobs} SET s = 5`)),
      heal: async () => void (await admin.exec(`UPDATE ${knobs} SET s = 0`)),
      expect: 'partial',
      cause: { fragmentId: 'pg', code: 'TIMEOUT' },
      statementsRunning: () => pgRunning(admin, tag),
      probe: () => probeSource(source, { sql: 'SELECT 1 AS ok' }),
    });
  });
});
