/**
 * Data and plan of the federated example: customers in SQLite, orders in PostgreSQL,
 * products in MariaDB/MySQL, exchange rates from an HTTP JSON server on a loopback port.
 * Shared by `examples/federated.ts` and its test, which checks the result against the same
 * query written as one SQL statement over one database holding every table.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { from, plan, type Plan } from '../src/index.js';

export const pgUrl = process.env.TRIBUTARY_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const mysqlUrl = process.env.TRIBUTARY_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

export interface FederatedData {
  customers: { id: number; name: string; segment: string; currency: string }[];
  orders: { id: number; customer_id: number; product_id: number; quantity: number }[];
  products: { id: number; name: string; category: string }[];
  rates: { currency: string; rate: number }[];
}

/** A fixed-seed data set, so every run (and its oracle) sees the same rows. */
export function federatedData(customers = 300, orders = 3000, products = 40): FederatedData {
  let seed = 7;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return Math.floor(seed / 65536) % n;
  };
  const segments = ['BUILDING', 'AUTOMOBILE', 'MACHINERY'];
  const currencies = ['EUR', 'USD', 'JPY', 'BRL'];
  const categories = ['tools', 'parts', 'machines', 'supplies', 'safety'];
  return {
    customers: Array.from({ length: customers }, (_, i) => ({
      id: i + 1,
      name: `Customer #${i + 1}`,
      segment: segments[random(3)]!,
      currency: currencies[random(4)]!,
    })),
    orders: Array.from({ length: orders }, (_, i) => ({ id: i + 1, customer_id: random(customers) + 1, product_id: random(products) + 1, quantity: random(9) + 1 })),
    products: Array.from({ length: products }, (_, i) => ({ id: i + 1, name: `product-${i + 1}`, category: categories[random(5)]! })),
    rates: [
      { currency: 'EUR', rate: 1 },
      { currency: 'USD', rate: 0.92 },
      { currency: 'JPY', rate: 0.0061 },
      { currency: 'BRL', rate: 0.17 },
    ],
  };
}

export interface FederatedTables {
  customers: string;
  orders: string;
  products: string;
}

/** Unique table names, so concurrent runs and tests never collide. */
export function tableNames(): FederatedTables {
  const suffix = randomBytes(4).toString('hex');
  return { customers: `customers_${suffix}`, orders: `orders_${suffix}`, products: `products_${suffix}` };
}

/** Loads customers into an SQLite file, orders into PostgreSQL, products into MariaDB; returns a cleanup. */
export async function seed(data: FederatedData, tables: FederatedTables, dir: string): Promise<{ sqliteFile: string; drop(): Promise<void> }> {
  const sqliteFile = join(dir, 'crm.db');
  const db = new Database(sqliteFile);
  db.exec(`CREATE TABLE ${tables.customers} (id INTEGER PRIMARY KEY, name TEXT, segment TEXT, currency TEXT)`);
  const insert = db.prepare(`INSERT INTO ${tables.customers} VALUES (?, ?, ?, ?)`);
  db.transaction(() => data.customers.forEach((c) => insert.run(c.id, c.name, c.segment, c.currency)))();
  db.close();

  const pgClient = new pg.Client({ connectionString: pgUrl });
  await pgClient.connect();
  await pgClient.query(`CREATE TABLE ${tables.orders} (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL, product_id INT NOT NULL, quantity INT NOT NULL)`);
  await pgClient.query(
    `INSERT INTO ${tables.orders} SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::int[])`,
    [data.orders.map((o) => o.id), data.orders.map((o) => o.customer_id), data.orders.map((o) => o.product_id), data.orders.map((o) => o.quantity)],
  );

  const my = await mysql.createConnection(mysqlUrl);
  await my.query(`CREATE TABLE ${tables.products} (id BIGINT UNSIGNED PRIMARY KEY, name VARCHAR(64), category VARCHAR(32))`);
  await my.query(`INSERT INTO ${tables.products} (id, name, category) VALUES ?`, [data.products.map((p) => [p.id, p.name, p.category])]);

  return {
    sqliteFile,
    async drop() {
      await pgClient.query(`DROP TABLE IF EXISTS ${tables.orders}`).finally(() => pgClient.end());
      await my.query(`DROP TABLE IF EXISTS ${tables.products}`).finally(() => my.end());
    },
  };
}

/** Serves the exchange rates as JSON on an ephemeral loopback port. */
export async function ratesServer(rates: FederatedData['rates']): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/rates')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: { rates } }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    baseUrl: `http://127.0.0.1:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Units and orders per product category and currency for one customer segment. */
export function federatedPlan(tables: FederatedTables, segment = 'BUILDING'): Plan {
  return plan('revenue-by-category')
    .fragment('customers', 'crm', { sql: `SELECT id, name, currency FROM ${tables.customers} WHERE segment = ?`, params: [segment] })
    .fragment(
      'orders',
      'shop',
      { sql: `SELECT id AS order_id, customer_id, product_id, quantity FROM ${tables.orders} WHERE customer_id = ANY($1)`, params: [from('customers', 'id')] },
      { dependsOn: ['customers'], batch: { param: 0, size: 25 } },
    )
    .fragment('products', 'catalog', { sql: `SELECT id, category FROM ${tables.products} WHERE id IN (?)`, params: [from('orders', 'product_id')] }, { dependsOn: ['orders'] })
    .fragment('rates', 'fx', { path: '/rates', rows: '/data/rates' })
    .merge({
      op: 'sort',
      by: [{ column: 'units', desc: true }, { column: 'category' }, { column: 'currency' }],
      input: {
        op: 'aggregate',
        groupBy: ['category', 'currency'],
        aggregates: [
          { fn: 'sum', column: 'quantity', as: 'units' },
          { fn: 'count', as: 'orders' },
          { fn: 'max', column: 'rate', as: 'rate' },
        ],
        input: {
          op: 'join',
          type: 'inner',
          left: {
            op: 'join',
            type: 'inner',
            left: { op: 'join', type: 'inner', left: 'customers', right: 'orders', on: [['id', 'customer_id']] },
            right: 'products',
            on: [['product_id', 'id']],
          },
          right: 'rates',
          on: [['currency', 'currency']],
        },
      },
    })
    .build();
}

/** The same question as one SQL statement, for an SQLite database holding every table. */
export const oracleSql = (segment = 'BUILDING'): { sql: string; params: unknown[] } => ({
  sql: `SELECT p.category, c.currency, SUM(o.quantity) AS units, COUNT(*) AS orders, MAX(r.rate) AS rate
        FROM customers c JOIN orders o ON o.customer_id = c.id JOIN products p ON p.id = o.product_id
        JOIN rates r ON r.currency = c.currency
        WHERE c.segment = ? GROUP BY p.category, c.currency ORDER BY units DESC, p.category, c.currency`,
  params: [segment],
});

/** Loads every table into one SQLite database and runs the oracle statement. */
export function oracle(data: FederatedData, segment = 'BUILDING'): Record<string, unknown>[] {
  const db = new Database(':memory:');
  db.exec(`CREATE TABLE customers (id INTEGER, name TEXT, segment TEXT, currency TEXT);
    CREATE TABLE orders (id INTEGER, customer_id INTEGER, product_id INTEGER, quantity INTEGER);
    CREATE TABLE products (id INTEGER, name TEXT, category TEXT);
    CREATE TABLE rates (currency TEXT, rate REAL);`);
  const load = (table: string, rows: Record<string, unknown>[]): void => {
    if (rows.length === 0) return;
    const cols = Object.keys(rows[0]!);
    const stmt = db.prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
    db.transaction(() => rows.forEach((r) => stmt.run(...cols.map((c) => r[c] as never))))();
  };
  load('customers', data.customers);
  load('orders', data.orders);
  load('products', data.products);
  load('rates', data.rates);
  const { sql, params } = oracleSql(segment);
  const rows = db.prepare(sql).all(...params) as Record<string, unknown>[];
  db.close();
  return rows;
}
