import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, postgresSource, type Executor, type Predicate } from '../../src/index.js';
import { describeWithServer, pgAdmin, requireServer, scratchTables, type Admin } from '../support/servers.js';

/**
 * `in` with an empty list, in a merge filter and in memorySource-style predicates: SQL's
 * `x IN ()` is FALSE for every x, NULL included (there is no comparison to be UNKNOWN), so
 * `NOT (x IN ())` keeps every row. PostgreSQL writes it `x = ANY('{}')`; each filter's rows
 * are checked against PostgreSQL running it in one statement.
 */

const server = await requireServer('postgres');

describeWithServer(server, 'in and not in an empty list, against PostgreSQL', () => {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let table: string;
  let executor: Executor;

  beforeAll(async () => {
    admin = await pgAdmin(server.url);
    tables = scratchTables(admin);
    table = tables.name('inempty');
    await admin.exec(`CREATE TABLE ${table} (id INT PRIMARY KEY, k INT)`);
    await admin.exec(`INSERT INTO ${table} VALUES (1, 1), (2, NULL), (3, 3)`);
    executor = createExecutor({ sources: { pg: postgresSource({ url: server.url }) }, cache: false });
  });
  afterAll(async () => {
    await executor?.close();
    await tables?.dropAll();
  });

  const cases: [string, Predicate, string][] = [
    ['in []', { in: ['k', []] }, `k = ANY('{}'::int[])`],
    ['not in []', { not: { in: ['k', []] } }, `NOT (k = ANY('{}'::int[]))`],
    ['not in $param []', { not: { in: ['k', { $param: 'none' }] } }, `NOT (k = ANY('{}'::int[]))`],
    ['not (in [] or k = 1)', { not: { or: [{ in: ['k', []] }, { eq: ['k', 1] }] } }, `NOT (k = ANY('{}'::int[]) OR k = 1)`],
    ['not in [null]', { not: { in: ['k', [null]] } }, `NOT (k = ANY('{NULL}'::int[]))`],
  ];

  it.each(cases)('%s keeps the rows PostgreSQL keeps', async (_name, where, sql) => {
    const result = await executor.execute(
      { fragments: [{ id: 't', source: 'pg', query: { sql: `SELECT id, k FROM ${table}` } }], merge: { op: 'sort', by: [{ column: 'id' }], input: { op: 'filter', input: 't', where } } },
      { params: { none: [] } },
    );
    expect(result.errors.map((e) => e.message)).toEqual([]);
    const oracle = await admin.exec(`SELECT id FROM ${table} WHERE ${sql} ORDER BY id`);
    expect(result.rows.map((r) => r.id)).toEqual(oracle.map((r) => r.id));
  });
});
