import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, postgresSource, type Executor, type MergeNode, type Row } from '../../src/index.js';
import { describeWithServer, pgAdmin, requireServer, uniqueName, type Admin } from '../support/servers.js';

/**
 * DESIGN.md's merge grammar on the constructs the randomized oracle suite (test/fuzz) does not
 * draw — `nest`, `semi` and `anti` joins, a left join's renamed right columns, grouping on a
 * null key — each against the same query as ONE PostgreSQL statement, nulls included
 * (nulls never join; GROUP BY keeps one null group; aggregates skip nulls; avg of none is null).
 */
const server = await requireServer('postgres');

describeWithServer(server, 'merge operators against one PostgreSQL statement', () => {
  const parents = uniqueName('contract_parents');
  const children = uniqueName('contract_children');
  let admin: Admin;
  let executor: Executor;

  beforeAll(async () => {
    admin = await pgAdmin(server.url);
    await admin.exec(`CREATE TABLE ${parents} (id int, k int, name text)`);
    await admin.exec(`INSERT INTO ${parents} VALUES (1, 10, 'a'), (2, 20, 'b'), (3, NULL, 'c'), (4, 10, NULL), (5, 40, 'e')`);
    await admin.exec(`CREATE TABLE ${children} (id int, k int, v int, name text)`);
    await admin.exec(`INSERT INTO ${children} VALUES (100, 10, 1, 'x'), (101, 10, NULL, 'y'), (102, 20, 5, 'z'), (103, NULL, 7, 'n'), (104, 30, 2, 'w'), (105, 10, 3, NULL)`);
    executor = createExecutor({ sources: { pg: postgresSource({ url: server.url }) } });
  });

  afterAll(async () => {
    await executor?.close();
    await admin?.exec(`DROP TABLE IF EXISTS ${parents}`);
    await admin?.exec(`DROP TABLE IF EXISTS ${children}`);
    await admin?.close();
  });

  async function merged(merge: MergeNode): Promise<Row[]> {
    const result = await executor.execute({
      id: 'merge-oracle',
      fragments: [
        { id: 'p', source: 'pg', query: { sql: `SELECT id, k, name FROM ${parents} ORDER BY id`, params: [] } },
        { id: 'c', source: 'pg', query: { sql: `SELECT id, k, v, name FROM ${children} ORDER BY id`, params: [] } },
      ],
      merge,
    });
    expect(result.errors).toEqual([]);
    return result.rows;
  }

  it('semi and anti joins are EXISTS and NOT EXISTS: a null key matches nothing, so anti keeps it', async () => {
    const semi = await admin.exec(`SELECT id, k, name FROM ${parents} p WHERE EXISTS (SELECT 1 FROM ${children} c WHERE c.k = p.k) ORDER BY id`);
    const anti = await admin.exec(`SELECT id, k, name FROM ${parents} p WHERE NOT EXISTS (SELECT 1 FROM ${children} c WHERE c.k = p.k) ORDER BY id`);
    expect(await merged({ op: 'join', type: 'semi', left: 'p', right: 'c', on: [['k', 'k']] })).toEqual(semi);
    expect(await merged({ op: 'join', type: 'anti', left: 'p', right: 'c', on: [['k', 'k']] })).toEqual(anti);
  });

  it('a left join keeps unmatched left rows with nulls, and renames the right side\'s clashing columns "<fragment>.<column>"', async () => {
    const oracle = await admin.exec(
      `SELECT p.id, p.k, p.name, c.id AS "c.id", c.k AS "c.k", c.v, c.name AS "c.name"
       FROM ${parents} p LEFT JOIN ${children} c ON c.k = p.k ORDER BY p.id, c.id`,
    );
    const rows = await merged({ op: 'sort', by: [{ column: 'id' }, { column: 'c.id' }], input: { op: 'join', type: 'left', left: 'p', right: 'c', on: [['k', 'k']] } });
    expect(rows).toEqual(oracle);
  });

  it('nest attaches the matching child rows, in their input order, as an array ([] when none; a null key has none)', async () => {
    const oracle = await admin.exec(
      `SELECT p.id, p.k, p.name,
              COALESCE((SELECT json_agg(json_build_object('id', c.id, 'k', c.k, 'v', c.v, 'name', c.name) ORDER BY c.id) FROM ${children} c WHERE c.k = p.k), '[]'::json) AS kids
       FROM ${parents} p ORDER BY p.id`,
    );
    expect(await merged({ op: 'nest', parent: 'p', child: 'c', on: [['k', 'k']], as: 'kids' })).toEqual(oracle);
  });

  it('aggregates group a null key once, skip nulls, count(*) and count(column) differ, avg of none is null', async () => {
    const oracle = await admin.exec(
      `SELECT k, count(*)::int AS n, count(v)::int AS nv, sum(v)::int AS s, min(name) AS lo, max(name) AS hi, avg(v)::float8 AS a
       FROM ${children} WHERE k IS DISTINCT FROM 30 OR v > 100 GROUP BY k ORDER BY k NULLS LAST`,
    );
    const rows = await merged({
      op: 'sort', by: [{ column: 'k', nulls: 'last' }],
      input: {
        op: 'aggregate', groupBy: ['k'],
        aggregates: [
          { fn: 'count', as: 'n' }, { fn: 'count', column: 'v', as: 'nv' }, { fn: 'sum', column: 'v', as: 's' },
          { fn: 'min', column: 'name', as: 'lo' }, { fn: 'max', column: 'name', as: 'hi' }, { fn: 'avg', column: 'v', as: 'a' },
        ],
        input: { op: 'filter', input: 'c', where: { or: [{ not: { eq: ['k', 30] } }, { isNull: 'k' }, { gt: ['v', 100] }] } },
      },
    });
    expect(rows).toEqual(oracle);
    // One group where every v is null: sum, avg are null, count(v) is 0.
    const empty = await merged({ op: 'aggregate', groupBy: [], input: { op: 'filter', input: 'c', where: { gt: ['v', 100] } }, aggregates: [{ fn: 'count', as: 'n' }, { fn: 'sum', column: 'v', as: 's' }, { fn: 'avg', column: 'v', as: 'a' }] });
    expect(empty).toEqual(await admin.exec(`SELECT count(*)::int AS n, sum(v)::int AS s, avg(v)::float8 AS a FROM ${children} WHERE v > 100`));
  });
});
