import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Plan } from '../../src/plan/index.js';
import { memorySource } from '../../src/sources/memory/connector.js';
import { mysqlSource } from '../../src/sources/mysql/connector.js';
import { postgresSource } from '../../src/sources/postgres/connector.js';
import type { ExecuteContext, SourceExecutor } from '../../src/sources/source.js';
import type { Row } from '../../src/data/row.js';
import { faultExecutor, probeSource, runScenario, unhandledRejections } from '../support/fault-scenario.js';
import { mysqlRunning, pgKillWhenRunning, pgRunning, sqlTag } from '../support/fault-server.js';
import { describeWithServer, mysqlAdmin, pgAdmin, requireServer, scratchTables, type Admin, type ServerCheck } from '../support/servers.js';

/**
 * Faults of the engine's own making or of its callers: quotas, per-query limits, a
 * cancelled query, fail-fast, and the executor closing under running statements, over
 * both SQL servers at once.
 */

const pgServer = await requireServer('postgres');
const myServer = await requireServer('mysql');
// One describe needs both servers: skip (or, under CI, fail) with the first missing one's reason.
const both: ServerCheck = pgServer.skipReason !== undefined ? pgServer : myServer;

/** A memory source that counts its calls per table and can hold a table's calls until released. */
function countingSource(tables: Record<string, Row[]>) {
  const inner = memorySource({ tables });
  const calls = new Map<string, number>();
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  const source: SourceExecutor = {
    ...inner,
    async execute(query: { table: string }, ctx: ExecuteContext) {
      calls.set(query.table, (calls.get(query.table) ?? 0) + 1);
      if (query.table === 'slow' && gate) await gate;
      const rows = await inner.execute(query, ctx);
      if (!Array.isArray(rows)) throw new Error('the memory source answers arrays');
      return rows;
    },
  };
  return {
    source,
    calls: (table: string) => calls.get(table) ?? 0,
    hold: () => {
      gate = new Promise((resolve) => (open = resolve));
    },
    release: () => {
      open?.();
      gate = undefined;
    },
  };
}

afterAll(() => {
  expect(unhandledRejections()).toEqual({ count: 0, reasons: [] });
});

const refRows: Row[] = Array.from({ length: 400 }, (_, i) => ({ id: i + 1, name: `ref ${i + 1} ${'z'.repeat(60)}`, frag: 'ref' }));
const localRows: Row[] = [{ id: -1, name: 'local', frag: 'local' }];

const quotaPlan: Plan = {
  id: 'quota-plan',
  errorPolicy: 'partial',
  fragments: [
    { id: 'ref', source: 'mem', query: { table: 'ref' } },
    { id: 'local', source: 'mem', query: { table: 'local' } },
  ],
  merge: { op: 'union', inputs: ['ref', 'local'] },
};

it('refuses a query over maxRunningQueries with QUOTA_EXCEEDED before any source is called', async () => {
  const mem = countingSource({ ref: refRows, local: localRows, slow: [{ id: 0 }] });
  const executor = faultExecutor({ mem: mem.source }, { quotas: { maxRunningQueries: 1 } });
  const principal = { id: 'alice' };
  let holder: Promise<unknown> | undefined;
  let before = 0;
  await runScenario({
    name: 'engine: maxRunningQueries exceeded (nothing started)',
    server: 'engine',
    executor,
    plan: quotaPlan,
    runOptions: { principal },
    inject: () => {
      mem.hold();
      holder = executor.execute({ id: 'holder', fragments: [{ id: 'slow', source: 'mem', query: { table: 'slow' } }] }, { principal });
      before = mem.calls('ref') + mem.calls('local');
    },
    heal: async () => {
      mem.release();
      await holder;
    },
    expect: 'failed',
    cause: { code: 'QUOTA_EXCEEDED' },
    check: ({ error }) => {
      expect(error?.issues[0]?.path).toBe('quotas.maxRunningQueries');
      // The reruns after healing called the source again; the refused run did not.
      expect(mem.calls('ref') + mem.calls('local') - before).toBe(2);
    },
  });
});

it('refuses a query over maxFragmentsPerMinute with QUOTA_EXCEEDED, other principals unaffected', async () => {
  const mem = countingSource({ ref: refRows, local: localRows });
  const executor = faultExecutor({ mem: mem.source }, { quotas: { maxFragmentsPerMinute: 3 } });
  let before = 0;
  await runScenario({
    name: 'engine: maxFragmentsPerMinute exceeded (nothing started)',
    server: 'engine',
    executor,
    plan: quotaPlan,
    runOptions: { principal: { id: 'bob' } },
    inject: () => {
      before = mem.calls('ref') + mem.calls('local');
    },
    expect: 'failed',
    cause: { code: 'QUOTA_EXCEEDED' },
    // The minute is not over: the same principal stays refused.
    rerun: false,
    probe: async () => {
      const other = await executor.execute(quotaPlan, { principal: { id: 'carol' } });
      if (other.status !== 'ok') throw new Error(`another principal was refused too: ${other.status}`);
    },
    check: ({ error }) => {
      expect(error?.issues[0]?.path).toBe('quotas.maxFragmentsPerMinute');
      expect(mem.calls('ref') + mem.calls('local') - before).toBe(2); // carol's two, none of bob's
    },
  });
});

it('fails the fragment that passes maxRowsPerQuery with LIMIT_EXCEEDED', async () => {
  const mem = countingSource({ ref: refRows, local: localRows });
  await runScenario({
    name: 'engine: maxRowsPerQuery exceeded',
    server: 'engine',
    baselineExecutor: faultExecutor({ mem: mem.source }),
    executor: faultExecutor({ mem: mem.source }, { quotas: { maxRowsPerQuery: 100 } }),
    plan: quotaPlan,
    expect: 'partial',
    cause: { fragmentId: 'ref', code: 'LIMIT_EXCEEDED' },
    rerun: false,
    probe: () => probeSource(mem.source, { table: 'local' }),
    check: ({ result }) => {
      expect(result?.errors[0]?.issues.some((i) => i.path === 'quotas.maxRowsPerQuery' || /maxRowsPerQuery/.test(i.message))).toBe(true);
      expect(result?.fragments.ref?.attempts).toBe(1);
    },
  });
});

it('fails the fragment that passes maxBytesPerQuery with LIMIT_EXCEEDED', async () => {
  const mem = countingSource({ ref: refRows, local: localRows });
  await runScenario({
    name: 'engine: maxBytesPerQuery exceeded',
    server: 'engine',
    baselineExecutor: faultExecutor({ mem: mem.source }),
    executor: faultExecutor({ mem: mem.source }, { quotas: { maxBytesPerQuery: 8_000 } }),
    plan: quotaPlan,
    expect: 'partial',
    cause: { fragmentId: 'ref', code: 'LIMIT_EXCEEDED' },
    rerun: false,
    probe: () => probeSource(mem.source, { table: 'local' }),
    check: ({ result }) => expect(result?.fragments.ref?.attempts).toBe(1),
  });
});

describeWithServer(both, 'fault suite: engine over PostgreSQL and MariaDB at once', () => {
  let pgA: Admin;
  let myA: Admin;
  let pgTables: ReturnType<typeof scratchTables>;
  let myTables: ReturnType<typeof scratchTables>;
  let pgKnobs: string;
  let myKnobs: string;

  beforeAll(async () => {
    pgA = await pgAdmin(pgServer.url);
    myA = await mysqlAdmin(myServer.url);
    pgTables = scratchTables(pgA);
    myTables = scratchTables(myA);
    pgKnobs = pgTables.name('flt_knobs');
    myKnobs = myTables.name('flt_knobs');
    await pgA.exec(`CREATE TABLE ${pgKnobs} (s float8 NOT NULL)`);
    await pgA.exec(`INSERT INTO ${pgKnobs} VALUES (0)`);
    await myA.exec(`CREATE TABLE ${myKnobs} (s double NOT NULL)`);
    await myA.exec(`INSERT INTO ${myKnobs} VALUES (0)`);
  });

  afterAll(async () => {
    await pgTables.dropAll();
    await myTables.dropAll();
  });

  const slow = async (seconds: number) => {
    await pgA.exec(`UPDATE ${pgKnobs} SET s = $1`, [seconds]);
    await myA.exec(`UPDATE ${myKnobs} SET s = ?`, [seconds]);
  };
  /** A pg fragment and a MariaDB fragment that both sleep as long as their knob says. */
  const twoServerPlan = (id: string, tag: string, errorPolicy: 'partial' | 'fail-fast'): Plan => ({
    id,
    errorPolicy,
    deadlineMs: 8000,
    fragments: [
      { id: 'pg', source: 'pg', query: { sql: `SELECT g AS id, 'pg' AS frag FROM generate_series(1, 50) g, pg_sleep((SELECT s FROM ${pgKnobs})) /* ${tag} */` } },
      {
        id: 'my',
        source: 'my',
        query: { sql: `SELECT 1 AS id, 'my' AS frag FROM (SELECT SLEEP((SELECT s FROM ${myKnobs})) AS z) s /* ${tag} */` },
      },
    ],
    merge: { op: 'union', inputs: ['pg', 'my'] },
  });
  const sources = () => ({
    pg: postgresSource({ url: pgServer.url, max: 2, name: 'pg' }),
    my: mysqlSource({ url: myServer.url, connectionLimit: 2, name: 'my' }),
  });
  const bothRunning = async (tag: string) => (await pgRunning(pgA, tag)) + (await mysqlRunning(myA, tag));
  const waitBothRunning = async (tag: string) => {
    for (let i = 0; i < 200; i++) {
      if ((await pgRunning(pgA, tag)) > 0 && (await mysqlRunning(myA, tag)) > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    throw new Error('the two statements never ran together');
  };

  it('cancels a query mid-statement on both servers, leaving nothing running', async () => {
    const tag = sqlTag();
    const s = sources();
    await runScenario({
      name: 'engine: run.cancel() while PostgreSQL and MariaDB statements run',
      server: 'engine',
      executor: faultExecutor(s, { timeoutMs: 8000 }),
      plan: twoServerPlan('cancel-two', tag, 'partial'),
      inject: () => slow(5),
      during: async (run) => {
        await waitBothRunning(tag);
        run.cancel('the caller went away');
      },
      heal: () => slow(0),
      expect: 'failed',
      cause: { code: 'CANCELLED' },
      statementsRunning: () => bothRunning(tag),
      probe: async () => {
        await probeSource(s.pg, { sql: 'SELECT 1 AS ok' });
        await probeSource(s.my, { sql: 'SELECT 1 AS ok' });
      },
      check: ({ durationMs }) => expect(durationMs).toBeLessThan(3000),
    });
  });

  it('stops the MariaDB statement when the PostgreSQL fragment fails under fail-fast', async () => {
    const tag = sqlTag();
    const s = sources();
    await runScenario({
      name: 'engine: fail-fast on a PostgreSQL failure stops the running MariaDB statement',
      server: 'engine',
      executor: faultExecutor(s, { timeoutMs: 8000 }),
      plan: twoServerPlan('fail-fast-two', tag, 'fail-fast'),
      inject: () => slow(5),
      during: async () => {
        await waitBothRunning(tag);
        await pgKillWhenRunning(pgA, tag, 'cancel');
      },
      heal: () => slow(0),
      expect: 'failed',
      cause: { fragmentId: 'pg', code: 'FRAGMENT_FAILED', driverCode: '57014' },
      statementsRunning: () => bothRunning(tag),
      probe: async () => {
        await probeSource(s.pg, { sql: 'SELECT 1 AS ok' });
        await probeSource(s.my, { sql: 'SELECT 1 AS ok' });
      },
      check: ({ result, durationMs }) => {
        expect(result?.fragments.my?.status).not.toBe('succeeded');
        expect(durationMs).toBeLessThan(3000);
      },
    });
  });

  it('closes the executor under running statements on both servers, leaving nothing running', async () => {
    const tag = sqlTag();
    const s = sources();
    const executor = faultExecutor(s, { timeoutMs: 8000 });
    await runScenario({
      name: 'engine: executor.close() while PostgreSQL and MariaDB statements run',
      server: 'engine',
      executor,
      plan: twoServerPlan('close-two', tag, 'partial'),
      inject: () => slow(5),
      during: async () => {
        await waitBothRunning(tag);
        await executor.close();
      },
      heal: () => slow(0),
      expect: 'failed',
      cause: { code: ['CANCELLED', 'CLOSED'] },
      statementsRunning: () => bothRunning(tag),
      // The pools are closed on purpose; the servers must still answer.
      rerun: false,
      probe: async () => {
        await pgA.exec('SELECT 1');
        await myA.exec('SELECT 1');
      },
    });
  });
});
