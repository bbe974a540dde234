import mysql from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, from, mysqlSource, postgresSource, type Executor, type Row } from '../../src/index.js';
import { expandListParams } from '../../src/sources/mysql/placeholders.js';
import { describeWithServer, mysqlAdmin, mysqlUrl, pgAdmin, pgUrl, requireServer, scratchTables, type Admin } from '../support/servers.js';

/**
 * Bound lists of numbers mixed with decimal strings on MariaDB/MySQL. Bound as they come
 * (numbers as DOUBLEs, strings as text), the server compares such an `IN` list as doubles:
 * a DECIMAL column matches rows that differ past the 16th digit, and a BIGINT index is
 * scanned whole instead of probed. Results are checked against the same query with the
 * values written as literals in one statement, and the plan against EXPLAIN.
 */

const pgCheck = await requireServer('postgres');
const myCheck = await requireServer('mysql');

describeWithServer(pgCheck.skipReason ? pgCheck : myCheck, 'mixed number and decimal-string lists bound into MariaDB/MySQL', () => {
  let pg: Admin;
  let my: Admin;
  let pgTables: ReturnType<typeof scratchTables>;
  let myTables: ReturnType<typeof scratchTables>;
  let amounts: string;
  let myAmounts: string;
  let keys: string;
  let executor: Executor;
  // 1,000 small keys and some beyond 2^53, whose doubles collide with their neighbours'.
  const BIG = ['9007199254740993', '9007199254740995', '1234567890123450001'];
  const SMALL = Array.from({ length: 1000 }, (_, i) => (i + 1) * 7);

  beforeAll(async () => {
    pg = await pgAdmin();
    pgTables = scratchTables(pg);
    amounts = pgTables.name('amounts');
    await pg.exec(`CREATE TABLE ${amounts} (id INT, amt NUMERIC(30, 4), k BIGINT)`);
    await pg.exec(`INSERT INTO ${amounts} VALUES (1, 1.00, 7), (2, 123456789012345678.92, ${BIG[0]}), (3, 1234567890123.45, ${BIG[2]}), (4, 123456789012345678.93, 8)`);
    my = await mysqlAdmin();
    myTables = scratchTables(my);
    myAmounts = myTables.name('amounts');
    keys = myTables.name('keys');
    // No index on amt: every row is compared with the list.
    await my.exec(`CREATE TABLE ${myAmounts} (id INT PRIMARY KEY, amt DECIMAL(30, 4))`);
    await my.exec(`INSERT INTO ${myAmounts} VALUES (1, 123456789012345678.91), (2, 123456789012345678.92), (3, 123456789012345678.93),
      (4, 1234567890123.45), (5, 1234567890123.4501), (6, 1.00), (7, 1.0001)`);
    await my.exec(`CREATE TABLE ${keys} (k BIGINT PRIMARY KEY, label VARCHAR(20))`);
    const rows = Array.from({ length: 20000 }, (_, i) => [i + 1, `k${i + 1}`]);
    for (const big of [...BIG, '9007199254740992', '9007199254740994', '1234567890123450000']) rows.push([big as unknown as number, `k${big}`]);
    await my.exec(`INSERT INTO ${keys} (k, label) VALUES ?`, [rows]);
    executor = createExecutor({ sources: { pg: postgresSource({ url: pgUrl() }), my: mysqlSource({ url: mysqlUrl() }) }, cache: false });
  });

  afterAll(async () => {
    await executor?.close();
    await pgTables?.dropAll();
    await myTables?.dropAll();
  });

  const ids = (rows: readonly Row[], column = 'id'): unknown[] => rows.map((r) => r[column]);

  it('binds PostgreSQL NUMERIC values into a DECIMAL IN list and matches exactly the rows the literal list matches', async () => {
    // id IN (2, 4): decimal strings only (MariaDB compares a DECIMAL column with a list of
    // strings wrongly: it matched …92 alone), so they go as DECIMALs too.
    for (const where of ['id IN (1, 2)', 'id IN (1, 3)', 'id IN (1, 2, 3)', 'id = 2', 'id IN (2, 4)']) {
      const result = await executor.execute({
        fragments: [
          { id: 'up', source: 'pg', query: { sql: `SELECT amt FROM ${amounts} WHERE ${where}` } },
          { id: 'dn', source: 'my', dependsOn: ['up'], query: { sql: `SELECT id FROM ${myAmounts} WHERE amt IN (?) ORDER BY id`, params: [from('up', 'amt')] } },
        ],
        merge: { op: 'sort', by: [{ column: 'id' }], input: 'dn' },
      });
      expect(result.errors.map((e) => e.message)).toEqual([]);
      const literals = (await pg.exec(`SELECT amt::text AS amt FROM ${amounts} WHERE ${where}`)).map((r) => String(r.amt));
      const oracle = await my.exec(`SELECT id FROM ${myAmounts} WHERE amt IN (${literals.join(', ')}) ORDER BY id`);
      expect(ids(result.rows), where).toEqual(ids(oracle));
    }
  });

  it('binds keys on both sides of 2^53 into a BIGINT IN list exactly, probing the index', async () => {
    const list: unknown[] = [...SMALL, ...BIG, null];
    const result = await executor.execute({
      fragments: [{ id: 'dn', source: 'my', query: { sql: `SELECT k, label FROM ${keys} WHERE k IN (?)`, params: [list] } }],
      merge: { op: 'sort', by: [{ column: 'label' }], input: 'dn' },
    });
    expect(result.errors.map((e) => e.message)).toEqual([]);
    const oracle = await my.exec(`SELECT CAST(k AS CHAR) AS k, label FROM ${keys} WHERE k IN (${[...SMALL, ...BIG].join(', ')}) ORDER BY label`);
    expect(result.rows.map((r) => r.label)).toEqual(ids(oracle, 'label'));
    expect(result.rows.map((r) => String(r.k)).sort()).toEqual(oracle.map((r) => String(r.k)).sort());
    // The statement as the source sends it: its list is probed through the primary key.
    const conn = await mysql.createConnection({ uri: mysqlUrl() });
    try {
      const { sql, values } = expandListParams(`EXPLAIN SELECT k, label FROM ${keys} WHERE k IN (?)`, [list]);
      const [plan] = (await conn.execute(sql, values as never[])) as unknown as [Record<string, unknown>[]];
      expect(plan[0]?.type).toBe('range');
      expect(plan[0]?.key).toBe('PRIMARY');
    } finally {
      await conn.end();
    }
  });
  it('types every chunk of a batched list as the whole list: a chunk of decimal strings only still goes as numbers when its list holds one', async () => {
    const codes = myTables.name('codes');
    await my.exec(`CREATE TABLE ${codes} (code VARCHAR(30), amt DECIMAL(30, 0))`);
    // A VARCHAR compared with numbers matches '007' and '09007199254740993'; as text it does not.
    // A DECIMAL compared with two strings or more goes as doubles: …992 and …994 would match too.
    await my.exec(`INSERT INTO ${codes} VALUES ('7', 7), ('007', 8), ('8', 9007199254740992), ('9007199254740993', 9007199254740993),
      ('09007199254740993', 9007199254740994), ('9007199254740995', 9007199254740995)`);
    // As a BIGINT $from gives it: numbers, and decimal strings past 2^53.
    const list: unknown[] = [7, 8, '9007199254740993', '9007199254740995'];
    for (const column of ['code', 'amt']) {
      const oracle = await my.exec(`SELECT code FROM ${codes} WHERE ${column} IN (${list.join(', ')}) ORDER BY code`);
      for (const size of [1, 2, 3, 4]) {
        const result = await executor.execute({
          fragments: [
            { id: 'up', source: 'pg', query: { sql: 'SELECT unnest($1::text[])::bigint AS k', params: [list.map(String)] } },
            { id: 'dn', source: 'my', dependsOn: ['up'], batch: { param: 0, size }, query: { sql: `SELECT code FROM ${codes} WHERE ${column} IN (?)`, params: [from('up', 'k')] } },
          ],
          merge: { op: 'sort', by: [{ column: 'code' }], input: 'dn' },
        });
        expect(result.errors.map((e) => e.message)).toEqual([]);
        expect(ids(result.rows, 'code'), `${column}, batches of ${size}`).toEqual(ids(oracle, 'code'));
      }
    }
    // A list of decimal strings only still goes as text, in every chunk: the VARCHAR's codes compare as text.
    const text = ['9007199254740993', '9007199254740995'];
    for (const size of [1, 2]) {
      const result = await executor.execute({
        fragments: [
          { id: 'up', source: 'pg', query: { sql: 'SELECT unnest($1::text[]) AS k', params: [text] } },
          { id: 'dn', source: 'my', dependsOn: ['up'], batch: { param: 0, size }, query: { sql: `SELECT code FROM ${codes} WHERE code IN (?)`, params: [from('up', 'k')] } },
        ],
        merge: { op: 'sort', by: [{ column: 'code' }], input: 'dn' },
      });
      expect(result.errors.map((e) => e.message)).toEqual([]);
      expect(ids(result.rows, 'code')).toEqual(['9007199254740993', '9007199254740995']);
    }
  });
});
