import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, plan, from, sqliteSource, type Row } from '../../src/index.js';
import { sortRows } from '../support/engine.js';

/** A small deterministic generator, so the data set is the same on every run. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

const rand = lcg(42);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const customers = Array.from({ length: 60 }, (_, i) => ({
  id: i + 1,
  name: `customer-${i + 1}`,
  segment: pick(['BUILDING', 'RETAIL', 'AUTOMOBILE']),
  region: pick(['EU', 'US', null]),
}));
const orders = Array.from({ length: 400 }, (_, i) => ({
  id: 1000 + i,
  // Some orders belong to nobody: nulls never join.
  customer_id: rand() < 0.05 ? null : 1 + Math.floor(rand() * 65),
  total: Math.round(rand() * 100000) / 100,
  status: pick(['open', 'shipped', 'cancelled']),
}));
const items: Row[] = Array.from({ length: 1200 }, (_, i) => ({
  order_id: rand() < 0.03 ? null : 1000 + Math.floor(rand() * 420),
  sku: `sku-${i % 37}`,
  qty: rand() < 0.05 ? null : Math.floor(rand() * 5),
}));

let dir: string;
let crmFile: string;
let shopFile: string;
let oracleFile: string;

function createTables(db: Database.Database, which: { customers?: boolean; orders?: boolean; items?: boolean }): void {
  if (which.customers) {
    db.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, segment TEXT NOT NULL, region TEXT)');
    const insert = db.prepare('INSERT INTO customers VALUES (@id, @name, @segment, @region)');
    for (const c of customers) insert.run(c);
  }
  if (which.orders) {
    db.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, total REAL NOT NULL, status TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO orders VALUES (@id, @customer_id, @total, @status)');
    for (const o of orders) insert.run(o);
  }
  if (which.items) {
    db.exec('CREATE TABLE items (order_id INTEGER, sku TEXT NOT NULL, qty INTEGER)');
    const insert = db.prepare('INSERT INTO items VALUES (@order_id, @sku, @qty)');
    for (const it of items) insert.run(it);
  }
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-oracle-'));
  crmFile = path.join(dir, 'crm.db');
  shopFile = path.join(dir, 'shop.db');
  oracleFile = path.join(dir, 'oracle.db');
  for (const [file, which] of [
    [crmFile, { customers: true }],
    [shopFile, { orders: true }],
    [oracleFile, { customers: true, orders: true, items: true }],
  ] as const) {
    const db = new Database(file);
    db.transaction(() => createTables(db, which))();
    db.close();
  }
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The federated plan: customers (SQLite) → their orders (another SQLite, bind join) → the orders' items (memory, bind join). */
function federatedPlan(segment: string, options: { batch?: number; schedule?: 'levels' | 'eager' } = {}) {
  return plan('oracle')
    .fragment('customers', 'crm', { sql: 'SELECT id, name, region FROM customers WHERE segment LIKE ?', params: [segment] })
    .fragment(
      'orders',
      'shop',
      {
        sql: "SELECT id AS order_id, customer_id, total FROM orders WHERE customer_id IN (SELECT value FROM json_each(?)) AND status <> 'cancelled'",
        params: [from('customers', 'id')],
      },
      { dependsOn: ['customers'], ...(options.batch ? { batch: { param: 0, size: options.batch } } : {}) },
    )
    .fragment(
      'items',
      'ref',
      { table: 'items', columns: ['order_id', 'sku', 'qty'], where: { and: [{ in: ['order_id', from('orders', 'order_id')] }, { gt: ['qty', 0] }] } },
      { dependsOn: ['orders'] },
    )
    .merge({
      op: 'project',
      columns: [{ column: 'id', as: 'customer' }, 'name', 'region', 'order_id', 'total', 'sku', 'qty'],
      input: {
        op: 'join',
        type: 'inner',
        left: { op: 'join', type: 'inner', left: 'customers', right: 'orders', on: [['id', 'customer_id']] },
        right: 'items',
        on: [['order_id', 'order_id']],
      },
    })
    .options({ schedule: options.schedule ?? 'levels' })
    .build();
}

const ORACLE_SQL = `
  SELECT c.id AS customer, c.name, c.region, o.id AS order_id, o.total, i.sku, i.qty
  FROM customers c
  JOIN orders o ON o.customer_id = c.id
  JOIN items i ON i.order_id = o.id
  WHERE c.segment LIKE ? AND o.status <> 'cancelled' AND i.qty > 0`;

function oracle(segment: string): Row[] {
  const db = new Database(oracleFile, { readonly: true });
  try {
    return db.prepare(ORACLE_SQL).all(segment) as Row[];
  } finally {
    db.close();
  }
}

describe('a federated three-level plan', () => {
  it.each([
    ['BUILDING', {}],
    ['RETAIL', { batch: 5 }],
    ['AUTOMOBILE', { schedule: 'eager' as const }],
    // Every segment: the joins and the projection are big enough to build their rows with
    // a compiled row maker (src/data/row-maker.ts), the segments above with the generic one.
    ['%', {}],
  ])('returns exactly the rows of the same query as one SQL statement over one database (%s %o)', async (segment, options) => {
    const executor = createExecutor({
      sources: { crm: sqliteSource({ file: crmFile, readonly: true }), shop: sqliteSource({ file: shopFile, readonly: true }), ref: memorySource({ tables: { items } }) },
    });
    try {
      const result = await executor.execute(federatedPlan(segment, options));
      const expected = oracle(segment);
      expect(expected.length).toBeGreaterThan(30);
      expect(result.errors).toEqual([]);
      expect(result.status).toBe('ok');
      expect(result.columns).toEqual(['customer', 'name', 'region', 'order_id', 'total', 'sku', 'qty']);
      expect(result.rows).toHaveLength(expected.length);
      expect(sortRows(result.rows)).toEqual(sortRows(expected));
      expect(Object.values(result.fragments).map((f) => [f.level, f.status])).toEqual([
        [0, 'succeeded'],
        [1, 'succeeded'],
        [2, 'succeeded'],
      ]);
    } finally {
      await executor.close();
    }
  });
});
