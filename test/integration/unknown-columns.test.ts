import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, httpSource, memorySource, postgresSource, type Executor, type MergeNode, type Plan, type Row } from '../../src/index.js';
import { reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';
import { describeWithServer, pgAdmin, requireServer, scratchTables, type Admin } from '../support/servers.js';

/**
 * A merge step or a bind join that names a column its input does not have. Where the
 * sources named their columns (a SQL field list, a memory table), that is a mistake in the
 * plan and fails with its path, as PostgreSQL fails the same statement; before, the column
 * read as null in every row, so a typo quietly gave no rows (filter, join, bind join), an
 * unsorted result or a null sum. Where columns are only seen in rows (a JSON API that
 * leaves out null fields), nothing is checked: such a column may be real.
 */

const server = await requireServer('postgres');

describeWithServer(server, 'a column the input does not have', () => {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let orders: string;
  let executor: Executor;
  let http: TestHttpServer;

  beforeAll(async () => {
    admin = await pgAdmin(server.url);
    tables = scratchTables(admin);
    orders = tables.name('unkcols');
    await admin.exec(`CREATE TABLE ${orders} (id INT PRIMARY KEY, customer_id INT NOT NULL, total NUMERIC(10,2) NOT NULL)`);
    await admin.exec(`INSERT INTO ${orders} VALUES (1, 10, 5.50), (2, 10, 7.25), (3, 20, 1.00)`);
    // Users whose `deleted_at` is null: the API leaves the field out of every row.
    http = await startHttpServer({ 'GET /users': reply.json([{ id: 10, name: 'ann' }, { id: 20, name: 'bob' }]) });
    executor = createExecutor({
      sources: {
        pg: postgresSource({ url: server.url }),
        mem: memorySource({ tables: { customers: [{ id: 10, name: 'ann' }, { id: 20, name: 'bob', tier: 'gold' }] } }),
        api: httpSource({ baseUrl: http.url }),
      },
      cache: false,
    });
  });
  afterAll(async () => {
    await executor?.close();
    await http?.close();
    await tables?.dropAll();
  });

  const pgOrders = (): Plan['fragments'][number] => ({ id: 'orders', source: 'pg', query: { sql: `SELECT id, customer_id, total FROM ${orders}`, params: [] } });
  const customers = { id: 'customers', source: 'mem', query: { table: 'customers' } };

  async function mergeError(merge: MergeNode, fragments: Plan['fragments'] = [pgOrders(), customers]): Promise<{ code: string; paths: string[]; message: string }> {
    const result = await executor.run({ fragments, merge }).result;
    expect(result.status).toBe('failed');
    const error = result.errors.find((e) => e.code === 'MERGE_FAILED');
    expect(error, `errors: ${result.errors.map((e) => e.message).join('; ')}`).toBeDefined();
    return { code: error!.code, paths: (error!.issues ?? []).map((i) => i.path), message: error!.message };
  }

  it('PostgreSQL itself refuses each of these columns (the oracle)', async () => {
    for (const sql of [`SELECT * FROM ${orders} WHERE custmer_id = 10`, `SELECT * FROM ${orders} ORDER BY totl`, `SELECT sum(totl) FROM ${orders}`]) {
      await expect(admin.exec(sql)).rejects.toThrow(/column "(custmer_id|totl)" does not exist/);
    }
  });

  it('fails a filter, a sort, an aggregate, a join and a nest over named columns, at the path of the column', async () => {
    const cases: [MergeNode, string][] = [
      [{ op: 'filter', input: 'orders', where: { and: [{ gt: ['total', 0] }, { eq: ['custmer_id', 10] }] } }, 'merge.where.and[1].eq[0]'],
      [{ op: 'sort', input: 'orders', by: [{ column: 'id' }, { column: 'totl', desc: true }] }, 'merge.by[1].column'],
      [{ op: 'aggregate', input: 'orders', groupBy: ['customer_id'], aggregates: [{ fn: 'sum', column: 'totl', as: 's' }] }, 'merge.aggregates[0].column'],
      [{ op: 'aggregate', input: 'orders', groupBy: ['custmer'], aggregates: [{ fn: 'count', as: 'n' }] }, 'merge.groupBy[0]'],
      [{ op: 'join', type: 'inner', left: 'orders', right: 'customers', on: [['customer_id', 'idd']] }, 'merge.on[0][1]'],
      [{ op: 'join', type: 'semi', left: 'customers', right: 'orders', on: [['id', 'customerid']] }, 'merge.on[0][1]'],
      [{ op: 'nest', parent: 'customers', child: 'orders', on: [['idd', 'customer_id']], as: 'orders' }, 'merge.on[0][0]'],
      [{ op: 'filter', input: { op: 'union', inputs: ['orders', 'customers'] }, where: { isNull: 'tierr' } }, 'merge.where.isNull'],
    ];
    for (const [merge, path] of cases) {
      const error = await mergeError(merge);
      expect(error.paths, JSON.stringify(merge)).toEqual([path]);
      expect(error.message).toMatch(/is not in the input \(its columns: /);
    }
  });

  it('still runs steps over columns the sources named, a memory column only some rows have, and a union input that lacks one', async () => {
    const union: MergeNode = { op: 'filter', input: { op: 'union', inputs: ['orders', 'customers'] }, where: { eq: ['tier', 'gold'] } };
    const result = await executor.execute({ fragments: [pgOrders(), customers], merge: union });
    expect(result.rows).toEqual([{ id: 20, customer_id: null, total: null, name: 'bob', tier: 'gold' }]);
    const joined = await executor.execute({
      fragments: [pgOrders(), customers],
      merge: { op: 'sort', by: [{ column: 'id' }], input: { op: 'join', type: 'inner', left: 'orders', right: 'customers', on: [['customer_id', 'id']] } },
    });
    expect(joined.rows.map((r) => [r.id, r['customers.id'], r.tier])).toEqual([
      [1, 10, null],
      [2, 10, null],
      [3, 20, 'gold'],
    ]);
  });

  it('checks a streamed merge too, when the rows have gone through', async () => {
    const run = executor.run({ fragments: [pgOrders()], merge: { op: 'filter', input: 'orders', where: { eq: ['custmer_id', 10] } } });
    const streamed: Row[] = [];
    await expect(
      (async () => {
        for await (const batch of run.rows()) streamed.push(...batch);
      })(),
    ).rejects.toMatchObject({ code: 'MERGE_FAILED' });
    expect(streamed).toEqual([]);
    const result = await run.result;
    expect(result.errors.map((e) => e.issues?.map((i) => i.path))).toContainEqual(['merge.where.eq[0]']);
  });

  it('does not check a JSON API, whose rows leave out null fields: a filter on such a field runs', async () => {
    const result = await executor.execute({
      fragments: [{ id: 'users', source: 'api', query: { path: '/users' } }],
      merge: { op: 'sort', by: [{ column: 'id' }], input: { op: 'filter', input: 'users', where: { isNull: 'deleted_at' } } },
    });
    expect(result.status).toBe('ok');
    expect(result.rows.map((r) => r.name)).toEqual(['ann', 'bob']);
  });

  it('fails a bind join whose $from names a column the upstream fragment does not have, with PLAN_INVALID at its path', async () => {
    const plan: Plan = {
      fragments: [
        customers,
        { id: 'orders', source: 'pg', dependsOn: ['customers'], query: { sql: `SELECT id, total FROM ${orders} WHERE customer_id = ANY($1)`, params: [{ $from: 'customers', column: 'idd' }] } },
      ],
      merge: 'orders',
      errorPolicy: 'partial',
    };
    const result = await executor.execute(plan);
    expect(result.fragments.orders?.status).toBe('failed');
    expect(result.errors).toHaveLength(1);
    const error = result.errors[0]!;
    expect(error).toMatchObject({ code: 'PLAN_INVALID', fragmentId: 'orders', retryable: false });
    expect(error.message).toMatch(/fragment "customers" has no column "idd" \(its columns: "id", "name", "tier"\)/);
    expect(error.issues?.map((i) => i.path)).toEqual(['fragments[1].query.params[0].column']);
    // With the right column, the same plan binds and returns the orders (checked by PostgreSQL).
    const fixed = { ...plan, fragments: [customers, { ...plan.fragments[1]!, query: { sql: `SELECT id, total FROM ${orders} WHERE customer_id = ANY($1) ORDER BY id`, params: [{ $from: 'customers', column: 'id' }] } }] };
    const ok = await executor.execute(fixed);
    const oracle = await admin.exec(`SELECT id, total::float8 AS total FROM ${orders} WHERE customer_id = ANY($1) ORDER BY id`, [[10, 20]]);
    expect(ok.rows).toEqual(oracle);
  });
});
