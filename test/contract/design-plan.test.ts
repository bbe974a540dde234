import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli, tempDir } from '../cli/support.js';
import { startHttpServer, type TestHttpServer } from '../support/http-server.js';
import { describeWithServer, pgAdmin, requireServer, uniqueName, type Admin } from '../support/servers.js';

/**
 * DESIGN.md's own plan example ("top-customers": SQLite customers, PostgreSQL orders bound
 * with `= ANY($1)` in batches, an HTTP rates fragment, limit over sort over an inner join),
 * run as a user would: `tributary run` with a sources file in DESIGN.md's format (`kind`
 * tags, `${VAR}` from the environment, a SQLite file beside it). The rows are the ones the
 * same query gives as one SQL statement on PostgreSQL, decimals compared exactly.
 */
const server = await requireServer('postgres');

describeWithServer(server, "DESIGN.md's plan example, through the command line", () => {
  const orders = uniqueName('design_orders');
  const customersCopy = uniqueName('design_customers');
  const tmp = tempDir();
  let admin: Admin;
  let http: TestHttpServer;

  const customers = [
    [1, 'Ann', 'BUILDING'], [2, 'Bob', 'BUILDING'], [3, 'Cy', 'MACHINERY'], [4, 'Di', 'BUILDING'], [5, 'Ed', 'BUILDING'], [6, 'Flo', 'AUTOMOBILE'],
  ] as const;
  // 13 orders of BUILDING customers and others; one belongs to nobody (nulls never join).
  const orderRows: [number | null, string][] = [
    [1, '10.10'], [1, '0.20'], [2, '99.99'], [2, '5.05'], [3, '500.00'], [4, '12.34'], [4, '12.34'], [5, '0.01'], [5, '77.70'], [6, '1000.00'], [null, '999.99'], [1, '45.45'], [2, '33.33'],
  ];

  beforeAll(async () => {
    admin = await pgAdmin(server.url);
    await admin.exec(`CREATE TABLE ${orders} (customer_id int, total numeric(12,2))`);
    for (const [id, total] of orderRows) await admin.exec(`INSERT INTO ${orders} VALUES ($1, $2)`, [id, total]);
    await admin.exec(`CREATE TABLE ${customersCopy} (id int, name text, segment text)`);
    for (const c of customers) await admin.exec(`INSERT INTO ${customersCopy} VALUES ($1, $2, $3)`, [...c]);
    const db = new Database(`${tmp.dir}/crm.db`);
    db.exec('CREATE TABLE customers (id INTEGER, name TEXT, segment TEXT)');
    const insert = db.prepare('INSERT INTO customers VALUES (?, ?, ?)');
    for (const c of customers) insert.run(...c);
    db.close();
    http = await startHttpServer({
      'GET /rates': (req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify([{ region: req.url.searchParams.get('region'), rate: 1.1 }]));
      },
    });
  });

  afterAll(async () => {
    await admin?.exec(`DROP TABLE IF EXISTS ${orders}`);
    await admin?.exec(`DROP TABLE IF EXISTS ${customersCopy}`);
    await admin?.close();
    await http?.close();
    tmp.remove();
  });

  it('returns the rows of the one-statement query, in its order', async () => {
    const plan = tmp.file('plan.json', {
      id: 'top-customers',
      fragments: [
        { id: 'customers', source: 'crm', query: { sql: 'SELECT id, name FROM customers WHERE segment = ?', params: ['BUILDING'] } },
        {
          id: 'orders', source: 'shop', dependsOn: ['customers'],
          query: { sql: `SELECT customer_id, total FROM ${orders} WHERE customer_id = ANY($1)`, params: [{ $from: 'customers', column: 'id' }] },
          // Batches of 2 over the 4 BUILDING customers: the bound list really is split.
          batch: { param: 0, size: 2 }, timeoutMs: 2000, retry: { attempts: 5 }, cache: { ttlMs: 0 },
        },
        { id: 'rates', source: 'rates', query: { path: '/rates', searchParams: { region: 'EU' } } },
      ],
      merge: { op: 'limit', n: 10, input: { op: 'sort', by: [{ column: 'total', desc: true }], input: { op: 'join', type: 'inner', left: 'customers', right: 'orders', on: [['id', 'customer_id']] } } },
      errorPolicy: 'fail-fast',
      schedule: 'levels',
    });
    const sources = tmp.file('sources.json', {
      crm: { kind: 'sqlite', file: 'crm.db' },
      shop: { kind: 'postgres', url: '${SHOP_URL}' },
      rates: { kind: 'http', baseUrl: http.url },
    });
    const out = await runCli(['run', plan, '--sources', sources, '--format', 'json', '--quiet'], { env: { SHOP_URL: server.url } });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const rows = JSON.parse(out.stdout) as { id: number; name: string; customer_id: number; total: number }[];

    const oracle = await admin.exec(
      `SELECT c.id, c.name, o.customer_id, trim_scale(o.total)::text AS total FROM ${customersCopy} c JOIN ${orders} o ON c.id = o.customer_id
       WHERE c.segment = 'BUILDING' ORDER BY o.total DESC LIMIT 10`,
    );
    expect(oracle).toHaveLength(10);
    // Ties in total (12.34 twice) are the same row either way; compare in order.
    expect(rows.map((r) => ({ id: r.id, name: r.name, customer_id: r.customer_id, total: String(r.total) }))).toEqual(oracle);
    expect(http.hits('GET /rates')).toBe(1);
    expect(http.requests[0]?.url.searchParams.get('region')).toBe('EU');
  });

  it('names a missing ${VAR} at its path and runs nothing (exit 2)', async () => {
    const plan = tmp.file('one.json', { id: 'one', fragments: [{ id: 'o', source: 'shop', query: { sql: 'SELECT 1 AS x', params: [] } }] });
    const sources = tmp.file('sources-unset.json', { shop: { kind: 'postgres', url: '${TRIBUTARY_CONTRACT_UNSET_URL}' } });
    const out = await runCli(['run', plan, '--sources', sources, '--quiet'], { env: {} });
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('shop.url');
    expect(out.stderr).toContain('TRIBUTARY_CONTRACT_UNSET_URL');
    expect(out.stdout).toBe('');
  });
});
