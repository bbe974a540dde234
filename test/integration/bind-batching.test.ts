import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, from, memorySource, mysqlSource, postgresSource, type Executor, type Plan } from '../../src/index.js';
import { describeWithServer, mysqlAdmin, mysqlUrl, pgAdmin, pgUrl, requireServer, scratchTables, type Admin } from '../support/servers.js';

const pgCheck = await requireServer('postgres');
const myCheck = await requireServer('mysql');
const KEYS = 10_000;

describeWithServer(pgCheck.skipReason ? pgCheck : myCheck, 'bind joins of 10,000 keys against real servers', () => {
  let pg: Admin;
  let my: Admin;
  let pgTables: ReturnType<typeof scratchTables>;
  let myTables: ReturnType<typeof scratchTables>;
  let pgTable: string;
  let myTable: string;
  let executor: Executor;

  beforeAll(async () => {
    pg = await pgAdmin();
    pgTables = scratchTables(pg);
    pgTable = pgTables.name('bind_pg');
    await pg.exec(`CREATE TABLE ${pgTable} AS SELECT g AS id, 'v' || g AS label FROM generate_series(1, 20000) g`);
    my = await mysqlAdmin();
    myTables = scratchTables(my);
    myTable = myTables.name('bind_my');
    await my.exec(`CREATE TABLE ${myTable} (id INT PRIMARY KEY, label VARCHAR(20))`);
    await my.exec(`INSERT INTO ${myTable} SELECT seq, CONCAT('v', seq) FROM seq_1_to_20000`);
    executor = createExecutor({
      sources: {
        keys: memorySource({ tables: { keys: Array.from({ length: KEYS }, (_, i) => ({ k: i * 2 + 1 })) } }),
        pg: postgresSource({ url: pgUrl() }),
        my: mysqlSource({ url: mysqlUrl() }),
      },
      cache: false,
    });
  });

  afterAll(async () => {
    await executor?.close();
    await pgTables?.dropAll();
    await myTables?.dropAll();
    await pg?.close();
    await my?.close();
  });

  const plan = (source: string, sql: string, batch: boolean): Plan => ({
    fragments: [
      { id: 'keys', source: 'keys', query: { table: 'keys' } },
      { id: 'rows', source, dependsOn: ['keys'], query: { sql, params: [from('keys', 'k')] }, ...(batch ? { batch: { param: 0, size: 1000 } } : {}) },
    ],
    merge: { op: 'sort', input: 'rows', by: [{ column: 'id' }] },
  });

  for (const [source, sql] of [
    ['pg', () => `SELECT id, label FROM ${pgTable} WHERE id = ANY($1)`],
    ['my', () => `SELECT id, label FROM ${myTable} WHERE id IN (?)`],
  ] as const) {
    it(`${source}: batch.size 1,000 runs exactly 10 source calls and returns the rows of one unbatched call`, async () => {
      const run = executor.run(plan(source, sql(), true));
      let calls = 0;
      run.events$.subscribe((e) => {
        if (e.type === 'fragment.started' && e.fragmentId === 'rows') calls++;
      });
      const batched = await run.result;
      const whole = await executor.execute(plan(source, sql(), false));
      expect(calls).toBe(10);
      expect(batched.fragments.rows!.calls).toBe(10);
      expect(whole.fragments.rows!.calls).toBe(1);
      expect(batched.rows).toHaveLength(KEYS);
      expect(batched.rows).toEqual(whole.rows);
      expect(batched.rows[0]).toEqual({ id: 1, label: 'v1' });
    });
  }
});
