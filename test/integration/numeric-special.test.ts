import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, postgresSource, type Executor, type MergeNode, type Row } from '../../src/index.js';
import { describeWithServer, pgAdmin, requireServer, scratchTables, type Admin } from '../support/servers.js';

/**
 * PostgreSQL NUMERIC's special values `NaN`, `Infinity` and `-Infinity` come back as the JS
 * numbers they name, as a float8's do, so the merge tree sorts, filters, joins and adds them
 * up as PostgreSQL does. Each result is checked against the same query in one statement.
 */

const server = await requireServer('postgres');

describeWithServer(server, 'NUMERIC NaN and ±Infinity through the merge tree', () => {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let specials: string;
  let executor: Executor;

  beforeAll(async () => {
    admin = await pgAdmin(server.url);
    tables = scratchTables(admin);
    specials = tables.name('specials');
    await admin.exec(`CREATE TABLE ${specials} (id INT PRIMARY KEY, n NUMERIC, f FLOAT8)`);
    await admin.exec(`INSERT INTO ${specials} VALUES (1, 'NaN', 'NaN'), (2, '-Infinity', '-Infinity'), (3, 1.5, 1.5),
      (4, 'Infinity', 'Infinity'), (5, -2, -2), (6, NULL, NULL)`);
    executor = createExecutor({ sources: { pg: postgresSource({ url: server.url }) }, cache: false });
  });
  afterAll(async () => {
    await executor?.close();
    await tables?.dropAll();
  });

  const run = async (merge: MergeNode, sql = `SELECT id, n, f FROM ${specials}`): Promise<Row[]> => {
    const result = await executor.execute({ fragments: [{ id: 'pg', source: 'pg', query: { sql } }], merge });
    expect(result.errors.map((e) => e.message)).toEqual([]);
    return result.rows;
  };
  const ids = async (sql: string): Promise<unknown[]> => (await admin.exec(sql)).map((r) => r.id);

  it('reads them as the numbers NaN, Infinity and -Infinity, as from a float8', async () => {
    const rows = await run({ op: 'sort', by: [{ column: 'id' }], input: 'pg' });
    expect(rows.map((r) => r.n)).toEqual([Number.NaN, -Infinity, 1.5, Infinity, -2, null]);
    expect(rows.map((r) => r.n)).toEqual(rows.map((r) => r.f));
  });

  it('sorts and filters them as PostgreSQL does', async () => {
    const sorted = await run({ op: 'sort', by: [{ column: 'n', nulls: 'last' }], input: 'pg' });
    expect(sorted.map((r) => r.id)).toEqual(await ids(`SELECT id FROM ${specials} ORDER BY n NULLS LAST`));
    const desc = await run({ op: 'sort', by: [{ column: 'n', desc: true, nulls: 'last' }], input: 'pg' });
    expect(desc.map((r) => r.id)).toEqual(await ids(`SELECT id FROM ${specials} ORDER BY n DESC NULLS LAST`));
    for (const [op, sqlOp] of [['gt', '>'], ['lt', '<'], ['ge', '>=']] as const) {
      const rows = await run({ op: 'sort', by: [{ column: 'id' }], input: { op: 'filter', where: { [op]: ['n', 0] } as never, input: 'pg' } });
      expect(rows.map((r) => r.id), op).toEqual(await ids(`SELECT id FROM ${specials} WHERE n ${sqlOp} 0 ORDER BY id`));
    }
  });

  it('joins them with a float8 column as PostgreSQL does (NaN equals NaN)', async () => {
    const result = await executor.execute({
      fragments: [
        { id: 'pg', source: 'pg', query: { sql: `SELECT id, n FROM ${specials}` } },
        { id: 'pg2', source: 'pg', query: { sql: `SELECT id, f FROM ${specials}` } },
      ],
      merge: { op: 'sort', by: [{ column: 'id' }], input: { op: 'join', type: 'inner', left: 'pg', right: 'pg2', on: [['n', 'f']] } },
    });
    const oracle = await admin.exec(`SELECT a.id AS l, b.id AS r FROM ${specials} a JOIN ${specials} b ON a.n = b.f::numeric ORDER BY a.id`);
    expect(result.rows.map((r) => [r.id, r['pg2.id']])).toEqual(oracle.map((r) => [r.l, r.r]));
  });

  it('gives min, max and sum as PostgreSQL does', async () => {
    const aggregates: MergeNode = {
      op: 'aggregate',
      input: 'pg',
      aggregates: [
        { fn: 'min', column: 'n', as: 'lo' },
        { fn: 'max', column: 'n', as: 'hi' },
        { fn: 'sum', column: 'n', as: 'total' },
      ],
    };
    const finite = `SELECT id, n, f FROM ${specials} WHERE n <> 'NaN'`;
    for (const [sql, where] of [
      [`SELECT id, n, f FROM ${specials}`, ''],
      [finite, "WHERE n <> 'NaN'"],
      [`SELECT id, n, f FROM ${specials} WHERE n > -2`, 'WHERE n > -2'],
    ] as const) {
      const [oracle] = await admin.exec(`SELECT MIN(n)::text AS lo, MAX(n)::text AS hi, SUM(n)::text AS total FROM ${specials} ${where}`);
      const expected = Object.fromEntries(Object.entries(oracle ?? {}).map(([k, v]) => [k, Number(v)]));
      expect(await run(aggregates, sql), where).toEqual([expected]);
    }
  });
});
