import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, mysqlSource, postgresSource, type Executor, type Plan } from '../../src/index.js';
import { describeWithServer, mysqlAdmin, mysqlUrl, pgAdmin, pgUrl, requireServer, scratchTables, type Admin } from '../support/servers.js';

/**
 * Zero-row results keep their columns: PostgreSQL and MariaDB send a field list even when
 * no row matches, and the merge operators work out their output columns from their inputs'.
 * The oracle is the servers' own field lists for the same statements.
 */

const pgCheck = await requireServer('postgres');
const myCheck = await requireServer('mysql');

describeWithServer(pgCheck.skipReason ? pgCheck : myCheck, 'zero-row results through PostgreSQL and MariaDB', () => {
  let pg: Admin;
  let my: Admin;
  let pgTables: ReturnType<typeof scratchTables>;
  let myTables: ReturnType<typeof scratchTables>;
  let orders: string;
  let customers: string;
  let executor: Executor;

  beforeAll(async () => {
    pg = await pgAdmin();
    my = await mysqlAdmin();
    pgTables = scratchTables(pg);
    myTables = scratchTables(my);
    orders = pgTables.name('orders');
    customers = myTables.name('customers');
    await pg.exec(`CREATE TABLE ${orders} (id int PRIMARY KEY, customer_id int, total DECIMAL(10,2))`);
    await pg.exec(`INSERT INTO ${orders} VALUES (1, 1, 12.50), (2, 2, 7.25)`);
    await my.exec(`CREATE TABLE ${customers} (id int PRIMARY KEY, name VARCHAR(20), region VARCHAR(2))`);
    await my.exec(`INSERT INTO ${customers} VALUES (1, 'Ann', 'EU'), (2, 'Bob', 'US')`);
    executor = createExecutor({ sources: { pg: postgresSource({ url: pgUrl() }), my: mysqlSource({ url: mysqlUrl() }) } });
  });

  afterAll(async () => {
    await executor?.close();
    await pgTables?.dropAll();
    await myTables?.dropAll();
  });

  const fragments = (where: string): Plan['fragments'] => [
    { id: 'orders', source: 'pg', query: { sql: `SELECT id, customer_id, total FROM ${orders} WHERE ${where}` } },
    { id: 'customers', source: 'my', query: { sql: `SELECT id, name, region FROM ${customers} WHERE ${where}` } },
  ];

  it('a single fragment with no rows has the columns of its SELECT list, from either server', async () => {
    for (const id of ['orders', 'customers']) {
      const result = await executor.execute({ fragments: fragments('id < 0').filter((f) => f.id === id) });
      const [fields] = id === 'orders' ? [await pg.exec(`SELECT id, customer_id, total FROM ${orders} LIMIT 1`)] : [await my.exec(`SELECT id, name, region FROM ${customers} LIMIT 1`)];
      expect(result.rows).toEqual([]);
      expect(result.columns).toEqual(Object.keys(fields?.[0] ?? {}));
    }
  });

  it('a PostgreSQL ⋈ MariaDB join and an aggregate over it keep their columns on zero rows', async () => {
    const join = { op: 'join' as const, type: 'left' as const, left: 'orders', right: 'customers', on: [['customer_id', 'id']] as [string, string][] };
    const joined = await executor.execute({ fragments: fragments('id < 0'), merge: join });
    expect(joined.rows).toEqual([]);
    expect(joined.columns).toEqual(['id', 'customer_id', 'total', 'customers.id', 'name', 'region']);
    const summed = await executor.execute({
      fragments: fragments('id < 0'),
      merge: { op: 'aggregate', input: join, groupBy: ['region'], aggregates: [{ fn: 'sum', column: 'total', as: 'spent' }] },
    });
    expect(summed.rows).toEqual([]);
    expect(summed.columns).toEqual(['region', 'spent']);
  });

  it('keeps the columns when the same empty result comes from the cache', async () => {
    const p: Plan = { fragments: fragments('id < 0').slice(0, 1) };
    const first = await executor.execute(p);
    const second = await executor.execute(p);
    expect(second.fragments.orders?.cached).toBe(true);
    expect(second.columns).toEqual(first.columns);
    expect(second.columns).toEqual(['id', 'customer_id', 'total']);
  });
});
