/**
 * The demo: a three-level federated plan over an SQLite file and in-memory reference
 * data, with bind joins, a hash join, an aggregate and a sort. Embedded sources only, so
 * it runs on a fresh clone: `npm ci && npm run demo`.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createExecutor, from, memorySource, plan, sqliteSource } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tributary-demo-'));
const file = join(dir, 'crm.db');

// The "CRM": customers and their orders, in one SQLite file.
const db = new Database(file);
db.exec(`
  CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, segment TEXT NOT NULL, country TEXT NOT NULL);
  CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, product_id INTEGER NOT NULL, quantity INTEGER NOT NULL);
`);
const insertCustomer = db.prepare('INSERT INTO customers VALUES (?, ?, ?, ?)');
const insertOrder = db.prepare('INSERT INTO orders VALUES (?, ?, ?, ?)');
const segments = ['BUILDING', 'AUTOMOBILE', 'MACHINERY'];
const countries = ['DE', 'FR', 'JP', 'BR'];
// A fixed-seed generator, so every run of the demo prints the same table.
let seed = 42;
const random = (n: number): number => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return Math.floor(seed / 65536) % n; // the high bits: an LCG's low bits repeat quickly
};
db.transaction(() => {
  for (let id = 1; id <= 60; id++) insertCustomer.run(id, `Customer #${String(id).padStart(3, '0')}`, segments[random(3)], countries[random(4)]);
  for (let id = 1; id <= 600; id++) insertOrder.run(id, random(60) + 1, random(8) + 1, random(9) + 1);
})();
db.close();

// Reference data that lives in the application: the product catalogue.
const products = Array.from({ length: 8 }, (_, i) => ({
  id: i + 1,
  product: ['anvil', 'bolt', 'crane', 'drill', 'easel', 'fan', 'gear', 'hoist'][i],
  price: [120, 2, 9000, 85, 40, 25, 12, 3100][i],
}));

const executor = createExecutor({
  sources: {
    crm: sqliteSource({ file, readonly: true }),
    catalogue: memorySource({ tables: { products } }),
  },
  concurrency: 4,
});

const demo = plan('building-revenue')
  .fragment('customers', 'crm', { sql: 'SELECT id, name, country FROM customers WHERE segment = ?', params: ['BUILDING'] })
  .fragment(
    'orders',
    'crm',
    {
      sql: 'SELECT customer_id, product_id, quantity FROM orders WHERE customer_id IN (SELECT value FROM json_each(?))',
      params: [from('customers', 'id')],
    },
    { dependsOn: ['customers'], batch: { param: 0, size: 10 } },
  )
  .fragment('products', 'catalogue', { table: 'products', where: { in: ['id', from('orders', 'product_id')] } }, { dependsOn: ['orders'] })
  .merge({
    op: 'limit',
    n: 10,
    input: {
      op: 'sort',
      by: [{ column: 'units', desc: true }, { column: 'country' }, { column: 'product' }],
      input: {
        op: 'aggregate',
        groupBy: ['country', 'product'],
        aggregates: [{ fn: 'sum', column: 'quantity', as: 'units' }, { fn: 'count', as: 'orders' }],
        input: {
          op: 'join',
          type: 'inner',
          left: { op: 'join', type: 'inner', left: 'customers', right: 'orders', on: [['id', 'customer_id']] },
          right: 'products',
          on: [['product_id', 'id']],
        },
      },
    },
  })
  .build();

const run = executor.run(demo);
run.events$.subscribe((event) => {
  if (event.type === 'fragment.succeeded') {
    console.log(`  ✓ ${event.fragmentId.padEnd(10)} level ${event.level}  ${String(event.rowCount).padStart(4)} rows  ${event.calls} call(s)  ${event.durationMs.toFixed(1)} ms`);
  }
  if (event.type === 'fragment.failed') console.log(`  ✗ ${event.fragmentId}: ${event.error.message}`);
});
let shown = -1;
run.progress$.subscribe((p) => {
  if (p.percent === shown) return;
  shown = p.percent;
  console.log(`  progress ${String(p.percent).padStart(3)} %  (${p.succeeded}/${p.total} fragments, level ${p.level})`);
});

try {
  const result = await run.result;
  console.log(`\n${result.queryId}: ${result.status}, ${result.rows.length} rows in ${result.stats.durationMs.toFixed(1)} ms\n`);
  console.table(result.rows);
  process.exitCode = result.status === 'ok' ? 0 : 1;
} finally {
  await executor.close();
  rmSync(dir, { recursive: true, force: true });
}
