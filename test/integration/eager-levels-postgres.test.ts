import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, createVirtualClock, from, memorySource, postgresSource, type Executor, type Plan } from '../../src/index.js';
import { delayedSource } from '../support/delayed-source.js';
import { sortRows, until } from '../support/engine.js';
import { announced, distinct, unannounced, watchLevels } from '../support/level-watch.js';
import { describeWithServer, pgAdmin, pgUrl, requireServer, scratchTables, type Admin } from '../support/servers.js';

const pgCheck = await requireServer('postgres');

/** The audited customers, held by a memory source whose calls take 500 ms on the virtual clock. */
const AUDITED = [1, 3];
const LEVEL = { customers: 0, audits: 1, orders: 1, lines: 2 };

describeWithServer(pgCheck, 'eager levels over PostgreSQL: level 2 settles while level 1 waits for a slow source', () => {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let names: { customers: string; orders: string; lines: string };

  beforeAll(async () => {
    admin = await pgAdmin();
    tables = scratchTables(admin);
    names = { customers: tables.name('customers'), orders: tables.name('orders'), lines: tables.name('lines') };
    await admin.exec(`CREATE TABLE ${names.customers} (id INT PRIMARY KEY, name TEXT)`);
    await admin.exec(`CREATE TABLE ${names.orders} (id INT PRIMARY KEY, customer_id INT, total_cents INT)`);
    await admin.exec(`CREATE TABLE ${names.lines} (order_id INT, product TEXT)`);
    await admin.exec(`INSERT INTO ${names.customers} VALUES (1, 'ada'), (2, 'bob'), (3, 'cy')`);
    await admin.exec(`INSERT INTO ${names.orders} VALUES (10, 1, 550), (11, 2, 725), (12, 3, 100), (13, 1, 200)`);
    await admin.exec(`INSERT INTO ${names.lines} VALUES (10, 'lamp'), (10, 'desk'), (11, 'chair'), (12, 'rug')`);
  });

  afterAll(async () => {
    await tables?.dropAll();
  });

  const plan = (): Plan => ({
    id: 'eager-pg-levels',
    fragments: [
      { id: 'customers', source: 'pg', query: { sql: `SELECT id FROM ${names.customers}` } },
      { id: 'audits', source: 'audit', dependsOn: ['customers'], query: { table: 'audits', where: { in: ['customer_id', from('customers', 'id')] } } },
      { id: 'orders', source: 'pg', dependsOn: ['customers'], query: { sql: `SELECT id, customer_id, total_cents FROM ${names.orders} WHERE customer_id = ANY($1)`, params: [from('customers', 'id')] } },
      { id: 'lines', source: 'pg', dependsOn: ['orders'], query: { sql: `SELECT order_id, product FROM ${names.lines} WHERE order_id = ANY($1)`, params: [from('orders', 'id')] } },
    ],
    merge: {
      op: 'join', type: 'inner',
      left: { op: 'join', type: 'semi', left: 'orders', right: 'audits', on: [['customer_id', 'customer_id']] },
      right: 'lines', on: [['id', 'order_id']],
    },
    schedule: 'eager',
  });

  it('announces each level before its fragments, and run.progress$ and progressFrom(events$) both name the lowest unfinished level; the rows match one SQL statement', async () => {
    const clock = createVirtualClock();
    const audit = delayedSource(memorySource({ tables: { audits: AUDITED.map((customer_id) => ({ customer_id })) } }), clock, () => 500);
    const executor: Executor = createExecutor({ sources: { pg: postgresSource({ url: pgUrl() }), audit }, cache: false, clock });
    try {
      const run = executor.run(plan());
      const w = watchLevels(run, LEVEL);
      // PostgreSQL answers on its own time; the audit source only when the virtual clock moves.
      await until(() => w.events.some((e) => e.type === 'fragment.succeeded' && e.fragmentId === 'lines'), 'lines (level 2) to settle', 10_000);
      expect(run.actor.getSnapshot().value).toBe('executing-level-1');
      expect(w.last.executor?.level).toBe(1);
      await clock.advanceAsync(500);
      const result = await run.result;
      expect(result.status).toBe('ok');
      expect(w.stateAt.lines).toBe('executing-level-1');

      expect(unannounced(w.events)).toEqual([]);
      expect(announced(w.events)).toEqual([[0, 1], [1, 2], [2, 1]]);
      expect(distinct(w.executor.map((v) => v.level))).toEqual([0, 1, 2]);
      expect(distinct(w.fromEvents.map((v) => v.level))).toEqual([0, 1, 2]);
      for (const v of w.fromEvents) expect(v.level).toBe(v.oracle);
      expect(w.last.executor).toEqual(w.last.fromEvents);

      const oracle = await admin.exec(
        `SELECT o.id, o.customer_id, o.total_cents, l.order_id, l.product FROM ${names.orders} o JOIN ${names.lines} l ON l.order_id = o.id WHERE o.customer_id = ANY($1)`,
        [AUDITED],
      );
      expect(sortRows(result.rows)).toEqual(sortRows(oracle));
    } finally {
      await executor.close();
    }
  });
});
