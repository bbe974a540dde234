import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, postgresSource, type Executor, type MergeNode, type Predicate, type Row } from '../../src/index.js';
import { describeWithServer, pgAdmin, requireServer, scratchTables, type Admin } from '../support/servers.js';

/**
 * Long digit strings in a TEXT column ('99999999999999999' spells a decimal string) stay
 * text: the column holds other text, so sort, min and max order every string as text, and a
 * filter comparing them with text compares text (it used to sort them as numbers and to
 * drop them from `gt` / `lt` as UNKNOWN). A NUMERIC column of decimal strings still orders
 * as numbers. Each result is checked against PostgreSQL running the query in one statement
 * (`COLLATE "C"`: code-unit order, as the merge tree compares strings).
 */

const server = await requireServer('postgres');

describeWithServer(server, 'digit strings in a text column, against PostgreSQL', () => {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let table: string;
  let executor: Executor;

  beforeAll(async () => {
    admin = await pgAdmin(server.url);
    tables = scratchTables(admin);
    table = tables.name('codes');
    await admin.exec(`CREATE TABLE ${table} (id INT PRIMARY KEY, code TEXT COLLATE "C", amount NUMERIC)`);
    await admin.exec(`INSERT INTO ${table} VALUES
      (1, '99999999999999999', 99999999999999999.5), (2, '100000000000000000', 100000000000000000.25),
      (3, '5', 12345678901234567.5), (4, 'B-7', -12345678901234567.5), (5, '12345678901234567.5', 9007199254740993),
      (6, '-9007199254740993', -100000000000000000.75), (7, NULL, NULL), (8, '', 99999999999999999.25)`);
    executor = createExecutor({ sources: { pg: postgresSource({ url: server.url }) }, cache: false });
  });
  afterAll(async () => {
    await executor?.close();
    await tables?.dropAll();
  });

  const run = async (merge: MergeNode): Promise<Row[]> => {
    const result = await executor.execute({ fragments: [{ id: 't', source: 'pg', query: { sql: `SELECT id, code, amount FROM ${table}` } }], merge });
    expect(result.errors.map((e) => e.message)).toEqual([]);
    return result.rows;
  };
  const oracleIds = async (sql: string): Promise<unknown[]> => (await admin.exec(sql)).map((r) => r.id);

  it('sorts the text column as text and the NUMERIC column as numbers, both ways', async () => {
    for (const column of ['code', 'amount']) {
      for (const desc of [false, true]) {
        const rows = await run({ op: 'sort', by: [{ column, desc, nulls: 'last' }], input: 't' });
        const direction = desc ? 'DESC' : 'ASC';
        expect(rows.map((r) => r.id), `${column} ${direction}`).toEqual(await oracleIds(`SELECT id FROM ${table} ORDER BY ${column} ${direction} NULLS LAST`));
      }
    }
  });

  it('filters the text column against text literals as text', async () => {
    const cases: [Predicate, string][] = [
      [{ gt: ['code', '5'] }, `code > '5'`],
      [{ lt: ['code', 'B'] }, `code < 'B'`],
      [{ ge: ['code', ''] }, `code >= ''`],
      [{ le: ['code', '12.5'] }, `code <= '12.5'`],
      [{ not: { gt: ['code', '5'] } }, `NOT (code > '5')`],
      [{ eq: ['code', '99999999999999999'] }, `code = '99999999999999999'`],
    ];
    for (const [where, sql] of cases) {
      const rows = await run({ op: 'sort', by: [{ column: 'id' }], input: { op: 'filter', input: 't', where } });
      expect(rows.map((r) => r.id), sql).toEqual(await oracleIds(`SELECT id FROM ${table} WHERE ${sql} ORDER BY id`));
    }
  });

  it('gives min and max of the text column as text, and of the NUMERIC column as numbers', async () => {
    const rows = await run({
      op: 'aggregate',
      input: 't',
      aggregates: [
        { fn: 'min', column: 'code', as: 'lo' },
        { fn: 'max', column: 'code', as: 'hi' },
        { fn: 'min', column: 'amount', as: 'least' },
        { fn: 'max', column: 'amount', as: 'most' },
      ],
    });
    const [oracle] = await admin.exec(`SELECT MIN(code) AS lo, MAX(code) AS hi, MIN(amount)::text AS least, MAX(amount)::text AS most FROM ${table}`);
    expect(rows).toEqual([{ lo: oracle?.lo, hi: oracle?.hi, least: oracle?.least, most: oracle?.most }]);
  });
});
