/**
 * Watch queries in the Stately inspector: `npm run example:inspector [-- --serve [--port 8080]]`.
 *
 * Starts a loopback relay, connects `@statelyai/inspect`'s WebSocket inspector to it, passes
 * the inspector to the executor (`createExecutor({ inspect })`), and runs three plans over an
 * SQLite file and in-memory data: one that succeeds, one whose source fails once and is
 * retried, one with a broken fragment under `errorPolicy: "partial"`. Each query is an actor
 * named by its plan id, in states `planned` → `executing-level-N` → `merging` → `done`, with
 * one child actor per source (named by the source) sending one `fragment.*` settle event per fragment.
 * Exits after the plans; with `--serve` it keeps the relay up until Ctrl-C.
 *
 * The Stately inspector is a hosted page: without the internet it cannot load. The example
 * also serves tributary's own live view (`createLiveView`: the same queries as DAGs, their
 * progress, the source lanes, the events and the timelines, from this machine alone), and
 * the relay's page shows it instead when the inspector has not loaded within five seconds.
 */
import { createWebSocketInspector } from '@statelyai/inspect';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
// In an app, import these from 'tributary-query' (this example runs from the sources).
import { createExecutor, createLiveView, from, memorySource, plan, sqliteSource, type Plan, type SourceExecutor } from '../src/index.js';
import { startInspectorRelay } from './inspector-relay.js';

const { values: args } = parseArgs({ options: { serve: { type: 'boolean', default: false }, port: { type: 'string', default: '0' } } });

// The data: customers and orders in SQLite, the product catalogue in memory.
const dir = mkdtempSync(join(tmpdir(), 'tributary-inspector-'));
const file = join(dir, 'crm.db');
const db = new Database(file);
db.exec(`
  CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, segment TEXT NOT NULL);
  CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, product_id INTEGER NOT NULL, quantity INTEGER NOT NULL);
  INSERT INTO customers VALUES (1, 'Ada', 'BUILDING'), (2, 'Brian', 'BUILDING'), (3, 'Chen', 'MACHINERY');
  INSERT INTO orders VALUES (1, 1, 1, 3), (2, 1, 2, 1), (3, 2, 2, 7), (4, 3, 1, 2);
`);
db.close();
const catalogue = memorySource({ tables: { products: [{ id: 1, product: 'anvil', price: 120, currency: 'USD' }, { id: 2, product: 'crane', price: 9000, currency: 'USD' }] } });

/** The catalogue behind a network that drops the first call: the retry shows in the inspector. */
function flaky(source: SourceExecutor): SourceExecutor {
  let calls = 0;
  return {
    ...source,
    kind: 'flaky-memory',
    execute: (query, ctx) => {
      if (++calls === 1) return Promise.reject(Object.assign(new Error('connection reset by peer'), { code: 'ECONNRESET' }));
      return source.execute(query, ctx);
    },
  };
}

// The live view is created with the executor below; the relay's page asks for its URL when served.
const liveView: { url?: string } = {};
const relay = await startInspectorRelay({ port: Number(args.port), fallbackUrl: () => liveView.url });
const inspector = createWebSocketInspector({ url: relay.wsUrl });
await relay.firstConnection;

const executor = createExecutor({
  sources: { crm: sqliteSource({ file, readonly: true }), catalogue, rates: flaky(memorySource({ tables: { rates: [{ from: 'USD', to: 'EUR', rate: 0.92 }] } })) },
  inspect: inspector.inspect,
  retry: { attempts: 3, initialDelayMs: 50 },
});
const view = await createLiveView(executor);
liveView.url = view.url;

const revenue = (id: string): Plan =>
  plan(id)
    .fragment('customers', 'crm', { sql: 'SELECT id, name FROM customers WHERE segment = ?', params: ['BUILDING'] })
    .fragment(
      'orders',
      'crm',
      { sql: 'SELECT customer_id, product_id, quantity FROM orders WHERE customer_id IN (SELECT value FROM json_each(?))', params: [from('customers', 'id')] },
      { dependsOn: ['customers'] },
    )
    .fragment('products', 'catalogue', { table: 'products', where: { in: ['id', from('orders', 'product_id')] } }, { dependsOn: ['orders'] })
    .merge({
      op: 'join',
      type: 'inner',
      left: { op: 'join', type: 'inner', left: 'customers', right: 'orders', on: [['id', 'customer_id']] },
      right: 'products',
      on: [['product_id', 'id']],
    })
    .build();

const plans: Plan[] = [
  revenue('building-revenue'),
  // `rates` fails once with ECONNRESET (retryable) and succeeds on the second attempt.
  plan('revenue-in-euros')
    .fragment('rates', 'rates', { table: 'rates' })
    .fragment('products', 'catalogue', { table: 'products' })
    .merge({ op: 'join', type: 'inner', left: 'products', right: 'rates', on: [['currency', 'from']] })
    .build(),
  // `returns` reads a table that does not exist: not retryable; under "partial" the rest comes back.
  plan('orders-and-returns')
    .fragment('orders', 'crm', { sql: 'SELECT id, customer_id FROM orders' })
    .fragment('returns', 'crm', { sql: 'SELECT order_id FROM returns' })
    .merge({ op: 'union', inputs: ['orders', 'returns'] })
    .options({ errorPolicy: 'partial' })
    .build(),
];

let failed = false;
for (const p of plans) {
  const result = await view.watch(executor.run(p), p).result;
  const errors = result.errors.map((e) => `${e.code}: ${e.message}`).join('; ');
  console.log(`${result.queryId.padEnd(20)} ${result.status.padEnd(8)} ${String(result.rows.length).padStart(2)} rows, ${result.stats.retries} retries${errors ? `  (${errors})` : ''}`);
  failed ||= result.status === 'failed';
}

console.log(`
To watch these queries, run \`npm run example:inspector -- --serve\` and open ${relay.pageUrl} in a
browser. The page embeds the Stately inspector (https://stately.ai/inspect) and forwards to it
every inspection event the relay at ${relay.wsUrl} received, the earlier ones first. Pick a
query actor (named by its plan id) to see its states, one per plan level, and its source
actors (one per source the plan uses, named by the source); the sequence view shows the
fragments.ready events the query actor sends them and the one fragment.succeeded or
fragment.failed each sends back per fragment.
Offline, the page shows tributary's own live view instead (also at ${view.url}): each query's
DAG coloured by fragment state, its progress, the source lanes, the events and its timeline.`);

const shutdown = async (): Promise<void> => {
  // The inspector sends each event on a timer: let the queued ones go before its socket closes.
  await new Promise((resolve) => setTimeout(resolve, 0));
  inspector.stop();
  await executor.close();
  await view.close();
  await relay.close();
  rmSync(dir, { recursive: true, force: true });
};

if (args.serve) {
  console.log(`\nServing ${relay.pageUrl} (and the live view at ${view.url}) — press Ctrl-C to stop.`);
  process.once('SIGINT', () => void shutdown().then(() => process.exit(0)));
} else {
  await shutdown();
  console.log(`\n(${relay.messages().length} inspection events went through the relay.)`);
  process.exitCode = failed ? 1 : 0;
}
