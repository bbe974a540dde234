import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, mysqlSource, postgresSource, type Executor, type FragmentError, type Plan, type Row } from '../../src/index.js';
import { mysqlAdmin, pgAdmin, requireServer, scratchTables, type Admin } from '../support/servers.js';

/**
 * A bare streamed `union` of PostgreSQL, MariaDB and memory inputs whose columns differ: every
 * streamed row carries the union's full column set (null-padded), as the eager run of the same
 * plan gives it. The SQL sources name their columns before their first row (PostgreSQL's
 * RowDescription, MariaDB's prepared columns), so the memory rows, which come first, wait
 * only for those names — not for the statements' rows. Before, the memory rows went out with
 * their own columns only.
 */

const [postgres, mysql] = await Promise.all([requireServer('postgres'), requireServer('mysql')]);
const skip = postgres.skipReason ?? mysql.skipReason;
if (skip !== undefined) console.warn(`[skip] a streamed union over PostgreSQL, MariaDB and memory: ${skip}`);

const key = (row: Row): string => JSON.stringify(row);
const byId = (rows: Row[]): Row[] => [...rows].sort((a, b) => Number(a.id) - Number(b.id));

describe.skipIf(skip !== undefined)('a streamed union of PostgreSQL, MariaDB and memory inputs', () => {
  let pgA: Admin;
  let myA: Admin;
  let pgTables: ReturnType<typeof scratchTables>;
  let myTables: ReturnType<typeof scratchTables>;
  let pgTable: string;
  let myTable: string;
  let executor: Executor;

  beforeAll(async () => {
    [pgA, myA] = await Promise.all([pgAdmin(), mysqlAdmin()]);
    pgTables = scratchTables(pgA);
    myTables = scratchTables(myA);
    pgTable = pgTables.name('union_cols_pg');
    myTable = myTables.name('union_cols_my');
    await pgA.exec(`CREATE TABLE ${pgTable} (id int PRIMARY KEY, state text NOT NULL, amt numeric(12,2))`);
    await pgA.exec(`INSERT INTO ${pgTable} VALUES (10, 'CA', 1.50), (11, 'NY', NULL), (12, 'WA', 3.25), (13, 'TX', 4.00), (14, 'OR', 5.75)`);
    await myA.exec(`CREATE TABLE ${myTable} (id int PRIMARY KEY, vat varchar(8) NOT NULL, amt decimal(12,2))`);
    await myA.exec(`INSERT INTO ${myTable} VALUES (20, 'FR1', 2.00), (21, 'DE2', NULL), (22, 'IT3', 9.99)`);
    executor = createExecutor({
      sources: {
        pg: postgresSource({ url: postgres.url, max: 2, streamBatchSize: 2 }),
        my: mysqlSource({ url: mysql.url, connectionLimit: 2, streamBatchSize: 2 }),
        mem: memorySource({ tables: { t: [{ id: 1, tier: 'gold' }, { id: 2, tier: 'silver' }] } }),
      },
      cache: false,
    });
  });

  afterAll(async () => {
    await executor?.close();
    await pgTables?.dropAll();
    await myTables?.dropAll();
  });

  const plan = (pgSql: string, mySql: string): Plan => ({
    fragments: [
      { id: 'mem', source: 'mem', query: { table: 't' } },
      { id: 'pg', source: 'pg', query: { sql: pgSql } },
      { id: 'my', source: 'my', query: { sql: mySql } },
    ],
    merge: { op: 'union', inputs: ['mem', 'pg', 'my'] },
  });

  it('gives every streamed row the columns and values the eager run gives it', async () => {
    const p = plan(`SELECT id, state, amt FROM ${pgTable} ORDER BY id`, `SELECT id, vat, amt FROM ${myTable} ORDER BY id`);
    const eager = await executor.execute(p);
    expect(eager.status).toBe('ok');
    expect(eager.columns).toEqual(['id', 'tier', 'state', 'amt', 'vat']);
    const run = executor.run(p);
    const streamed: Row[] = [];
    for await (const batch of run.rows()) streamed.push(...batch);
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.columns).toEqual(eager.columns);
    expect(streamed).toHaveLength(10);
    // Same keys in the same order as the eager rows, and the same values.
    for (const row of streamed) expect(Object.keys(row)).toEqual(eager.columns);
    expect(byId(streamed).map(key)).toEqual(byId(eager.rows).map(key));
  });

  it('still times a streamed statement out while it has sent its column names but no row', async () => {
    const marker = `named_${randomBytes(4).toString('hex')}`;
    const run = executor.run({
      errorPolicy: 'partial',
      fragments: [
        { id: 'mem', source: 'mem', query: { table: 't' } },
        { id: 'slow', source: 'pg', timeoutMs: 200, retry: { attempts: 1 }, query: { sql: `SELECT 1 AS id, '${marker}' AS state FROM pg_sleep(3)` } },
      ],
      merge: { op: 'union', inputs: ['mem', 'slow'] },
    });
    const streamed: Row[] = [];
    for await (const batch of run.rows()) streamed.push(...batch);
    const result = await run.result;
    expect(result.status).toBe('partial');
    expect(result.errors.map((e) => [(e as FragmentError).fragmentId, e.code])).toEqual([['slow', 'TIMEOUT']]);
    expect(streamed).toEqual([
      { id: 1, tier: 'gold', state: null },
      { id: 2, tier: 'silver', state: null },
    ]);
  });

  it("sends the memory rows, padded, while the SQL statements still wait for their first row (their columns came first)", async () => {
    const lock = randomBytes(4).readUInt32BE() & 0x7fffffff;
    const myLock = `tributary_union_${lock}`;
    // Both statements wait for locks the admins hold: they cannot produce a row yet.
    await pgA.exec('SELECT pg_advisory_lock($1)', [lock]);
    await myA.exec('SELECT GET_LOCK(?, 30)', [myLock]);
    const run = executor.run(
      plan(
        `SELECT t.id, t.state, t.amt FROM (SELECT pg_advisory_xact_lock(${lock})) l, ${pgTable} t ORDER BY t.id`,
        `SELECT t.id, t.vat, t.amt FROM ${myTable} t JOIN (SELECT GET_LOCK('${myLock}', 30) AS ok, RELEASE_LOCK('${myLock}') AS r) g ON g.ok = 1 ORDER BY t.id`,
      ),
    );
    const rows = run.rows()[Symbol.asyncIterator]();
    let first: IteratorResult<Row[]>;
    try {
      first = await rows.next();
    } finally {
      await pgA.exec('SELECT pg_advisory_unlock($1)', [lock]);
      await myA.exec('SELECT RELEASE_LOCK(?)', [myLock]);
    }
    expect(first.value).toEqual([
      { id: 1, tier: 'gold', state: null, amt: null, vat: null },
      { id: 2, tier: 'silver', state: null, amt: null, vat: null },
    ]);
    expect(Object.keys(first.value![0]!)).toEqual(['id', 'tier', 'state', 'amt', 'vat']);
    let rest = 0;
    for (let next = await rows.next(); !next.done; next = await rows.next()) rest += next.value.length;
    expect(rest).toBe(8);
    expect((await run.result).status).toBe('ok');
  });
});
