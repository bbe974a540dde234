import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, mysqlSource, postgresSource, sqliteSource, type Executor, type MergeNode, type Row } from '../../src/index.js';
import { describeWithServer, mysqlAdmin, mysqlUrl, pgAdmin, pgUrl, requireServer, scratchTables, type Admin } from '../support/servers.js';

/**
 * Integers beyond ±2^53 in a NUMERIC / DECIMAL column with few significant digits
 * (1234567890123450000 has 15): a double would hold them, but the values policy gives every
 * integer beyond 2^53 as its exact decimal string, so they join with BIGINT keys, match a
 * filter on their string and add up exactly. Each result is checked against the database
 * running the same query as one statement.
 */

const pgCheck = await requireServer('postgres');
const myCheck = await requireServer('mysql');

// id, value: big integers with trailing zeros, their neighbours, and small ones.
const VALUES: [number, string][] = [
  [1, '1234567890123450000'],
  [2, '1000000000000000000'],
  [3, '1'],
  [4, '-9007199254740994000'],
  [5, '1234567890123450001'],
];

describeWithServer(pgCheck.skipReason ? pgCheck : myCheck, 'integers beyond 2^53 in DECIMAL columns', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-decint-'));
  const file = join(dir, 'decint.db');
  let pg: Admin;
  let my: Admin;
  let lite: Database.Database;
  let pgTables: ReturnType<typeof scratchTables>;
  let myTables: ReturnType<typeof scratchTables>;
  let pgTable: string;
  let myTable: string;
  let executor: Executor;

  beforeAll(async () => {
    pg = await pgAdmin();
    pgTables = scratchTables(pg);
    pgTable = pgTables.name('decint');
    // n: NUMERIC, i8: the same value as BIGINT.
    await pg.exec(`CREATE TABLE ${pgTable} (id INT PRIMARY KEY, n NUMERIC(25, 0), i8 BIGINT)`);
    await pg.exec(`INSERT INTO ${pgTable} VALUES ${VALUES.map(([id, v]) => `(${id}, ${v}, ${v})`).join(', ')}`);
    my = await mysqlAdmin();
    myTables = scratchTables(my);
    myTable = myTables.name('decint');
    await my.exec(`CREATE TABLE ${myTable} (id INT PRIMARY KEY, d DECIMAL(25, 0), b BIGINT)`);
    await my.exec(`INSERT INTO ${myTable} VALUES ${VALUES.map(([id, v]) => `(${id}, ${v}, ${v})`).join(', ')}`);
    lite = new Database(file);
    lite.exec('CREATE TABLE decint (id INTEGER PRIMARY KEY, d DECIMAL(25, 0))');
    for (const [id, v] of VALUES) lite.prepare('INSERT INTO decint VALUES (?, ?)').run(id, BigInt(v));
    executor = createExecutor({
      sources: { lite: sqliteSource({ file }), pg: postgresSource({ url: pgUrl() }), my: mysqlSource({ url: mysqlUrl() }) },
      cache: false,
    });
  });

  afterAll(async () => {
    await executor?.close();
    await pgTables?.dropAll();
    await myTables?.dropAll();
    lite?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const fragments = () => [
    { id: 'pg', source: 'pg', query: { sql: `SELECT id, n, i8 FROM ${pgTable}` } },
    { id: 'my', source: 'my', query: { sql: `SELECT id, d, b FROM ${myTable}` } },
    { id: 'lite', source: 'lite', query: { sql: 'SELECT id, d FROM decint' } },
  ];
  const run = async (merge: MergeNode): Promise<Row[]> => {
    const result = await executor.execute({ fragments: fragments(), merge });
    expect(result.errors.map((e) => e.message)).toEqual([]);
    return result.rows;
  };
  const policy = (text: string): number | string => (Number.isSafeInteger(Number(text)) ? Number(text) : text);

  it('gives each integer beyond 2^53 as its exact string from NUMERIC, DECIMAL and SQLite, as from BIGINT', async () => {
    const oracle = await pg.exec(`SELECT id, n::text AS n FROM ${pgTable} ORDER BY id`);
    const expected = oracle.map((r) => policy(String(r.n)));
    const pgRows = await run({ op: 'sort', by: [{ column: 'id' }], input: 'pg' });
    expect(pgRows.map((r) => r.n)).toEqual(expected);
    expect(pgRows.map((r) => r.i8)).toEqual(expected);
    const myRows = await run({ op: 'sort', by: [{ column: 'id' }], input: 'my' });
    expect(myRows.map((r) => r.d)).toEqual(expected);
    expect(myRows.map((r) => r.b)).toEqual(expected);
    const liteRows = await run({ op: 'sort', by: [{ column: 'id' }], input: 'lite' });
    expect(liteRows.map((r) => r.d)).toEqual(expected);
  });

  it('joins a NUMERIC column with a BIGINT column of another database, as PostgreSQL joins them', async () => {
    const oracle = await pg.exec(`SELECT a.id AS l, b.id AS r FROM ${pgTable} a JOIN ${pgTable} b ON a.n = b.i8 ORDER BY a.id, b.id`);
    const expected = oracle.map((r) => [r.l, r.r]);
    expect(expected).toHaveLength(VALUES.length);
    for (const [left, right, on] of [
      ['pg', 'my', ['n', 'b']],
      ['my', 'pg', ['d', 'i8']],
      ['lite', 'pg', ['d', 'i8']],
    ] as const) {
      const rows = await run({ op: 'sort', by: [{ column: 'id' }, { column: `${right}.id` }], input: { op: 'join', type: 'inner', left, right, on: [[...on]] } });
      expect(rows.map((r) => [r.id, r[`${right}.id`]]), `${left} ⋈ ${right}`).toEqual(expected);
    }
  });

  it('filters on the exact string of a big DECIMAL integer', async () => {
    const oracle = await pg.exec(`SELECT id FROM ${pgTable} WHERE n = '1234567890123450000' ORDER BY id`);
    for (const [input, column] of [['pg', 'n'], ['my', 'd'], ['lite', 'd']] as const) {
      const rows = await run({ op: 'filter', where: { eq: [column, '1234567890123450000'] }, input });
      expect(rows.map((r) => r.id), input).toEqual(oracle.map((r) => r.id));
    }
  });

  it("adds big DECIMAL integers exactly: the same sum as the database's own SUM", async () => {
    const [pgSum] = await pg.exec(`SELECT SUM(n)::text AS s, SUM(n) FILTER (WHERE id IN (1, 3))::text AS plus_one FROM ${pgTable}`);
    const [mySum] = await my.exec(`SELECT CAST(SUM(d) AS CHAR) AS s FROM ${myTable}`);
    const liteSum = lite.prepare('SELECT CAST(SUM(d) AS TEXT) AS s FROM decint').get() as { s: string };
    expect([mySum?.s, liteSum.s]).toEqual([pgSum?.s, pgSum?.s]);
    const sum = (input: string, column: string): MergeNode => ({ op: 'aggregate', input, aggregates: [{ fn: 'sum', column, as: 's' }] });
    expect(await run(sum('pg', 'n'))).toEqual([{ s: policy(String(pgSum?.s)) }]);
    expect(await run(sum('my', 'd'))).toEqual([{ s: policy(String(mySum?.s)) }]);
    expect(await run(sum('lite', 'd'))).toEqual([{ s: policy(liteSum.s) }]);
    // 1234567890123450000 + 1: a double would lose the 1.
    const plusOne = await run({ op: 'aggregate', input: { op: 'filter', where: { in: ['id', [1, 3]] }, input: 'pg' }, aggregates: [{ fn: 'sum', column: 'n', as: 's' }] });
    expect(plusOne).toEqual([{ s: pgSum?.plus_one }]);
  });
});
