import { afterAll, beforeAll, expect, it } from 'vitest';
import { mysqlSource, type Row } from '../../src/index.js';
import { describeWithServer, mysqlAdmin, pgAdmin, requireServer, scratchTables, type Admin } from '../support/servers.js';

/**
 * Empty bound lists in MariaDB/MySQL set lists, wherever the `?` stands and however the list
 * is spaced or commented: each query's rows are checked against PostgreSQL running the same
 * filter over the same rows with the lists concatenated into one array (`= ANY`), where
 * `IN` over nothing keeps no row and `NOT IN` over nothing keeps every row, nulls too.
 */

const pgCheck = await requireServer('postgres');
const myCheck = await requireServer('mysql');

describeWithServer(pgCheck.skipReason ? pgCheck : myCheck, 'mysqlSource: empty bound lists anywhere in a set list, against PostgreSQL', () => {
  let pg: Admin;
  let my: Admin;
  let pgTables: ReturnType<typeof scratchTables>;
  let myTables: ReturnType<typeof scratchTables>;
  let pgTable: string;
  let myTable: string;
  let source: ReturnType<typeof mysqlSource>;

  beforeAll(async () => {
    pg = await pgAdmin();
    pgTables = scratchTables(pg);
    pgTable = pgTables.name('empties');
    my = await mysqlAdmin();
    myTables = scratchTables(my);
    myTable = myTables.name('empties');
    for (const [admin, table] of [[pg, pgTable], [my, myTable]] as const) {
      await admin.exec(`CREATE TABLE ${table} (id INT PRIMARY KEY, k INT, name VARCHAR(20))`);
      await admin.exec(`INSERT INTO ${table} VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 3, 'IN (x'), (4, 5, 'd'), (5, NULL, 'e')`);
    }
    source = mysqlSource({ url: myCheck.url });
  });
  afterAll(async () => {
    await source?.close();
    await pgTables?.dropAll();
    await myTables?.dropAll();
  });

  // [MariaDB filter, its params, the PostgreSQL oracle's filter]
  const cases: [string, unknown[], string][] = [
    ['k IN (?)', [[]], `k = ANY('{}'::int[])`],
    ['k NOT IN (?)', [[]], `NOT (k = ANY('{}'::int[]))`],
    ['k IN ( /* the ids */ ? )', [[]], `k = ANY('{}'::int[])`],
    ['k NOT IN (\n  -- the ids\n  ?\n)', [[]], `NOT (k = ANY('{}'::int[]))`],
    ['k NOT IN (# ids\n?)', [[]], `NOT (k = ANY('{}'::int[]))`],
    ['k NOT IN (?, 5)', [[]], `NOT (k = ANY('{5}'::int[]))`],
    ['k IN (5, ?)', [[]], `k = ANY('{5}'::int[])`],
    ['k NOT IN (?, 3, ?)', [[], []], `NOT (k = ANY('{3}'::int[]))`],
    ['k NOT IN (?, ?)', [[], []], `NOT (k = ANY('{}'::int[]))`],
    ['k NOT IN (?, ?)', [[], [1, 2]], `NOT (k = ANY('{1,2}'::int[]))`],
    ['k NOT IN (?, ?)', [[1, 2], []], `NOT (k = ANY('{1,2}'::int[]))`],
    ['k IN (?, ?) OR id = ?', [[], [], 4], `k = ANY('{}'::int[]) OR id = 4`],
    ["name <> 'x IN (' AND k NOT IN (?)", [[]], `name <> 'x IN (' AND NOT (k = ANY('{}'::int[]))`],
    ['k <> ALL (?)', [[]], `k <> ALL('{}'::int[])`],
    ['k /*!  NOT IN (?) */', [[]], `NOT (k = ANY('{}'::int[]))`],
    ['COALESCE(?) IS NULL AND k NOT IN (?)', [[], []], `NOT (k = ANY('{}'::int[]))`],
  ];

  it.each(cases)('%s with %j keeps the rows PostgreSQL keeps', async (where, params, oracle) => {
    const rows = (await source.execute({ sql: `SELECT id FROM ${myTable} WHERE ${where} ORDER BY id` }, { params, signal: new AbortController().signal })) as Row[];
    const expected = await pg.exec(`SELECT id FROM ${pgTable} WHERE ${oracle} ORDER BY id`);
    expect(rows.map((r) => r.id)).toEqual(expected.map((r) => r.id));
  });
});
