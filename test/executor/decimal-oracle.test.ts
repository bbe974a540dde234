import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, mysqlSource, postgresSource, sqliteSource, type Executor, type MergeNode, type Row } from '../../src/index.js';
import { describeWithServer, mysqlAdmin, mysqlUrl, pgAdmin, pgUrl, requireServer, scratchTables, type Admin } from '../support/servers.js';

/**
 * Money through the merge tree, checked against the databases' own arithmetic: sums and
 * averages of 5,000 DECIMAL(12,2) values per group, over PostgreSQL, over MariaDB, over a
 * PostgreSQL ⋈ MariaDB join, and over SQLite (which has no decimal type). Sums are compared
 * as decimal text, exactly; averages are the exact quotient rounded once to a double, so
 * they are compared with the database's quotient (to 30 decimals) read as a double, and as
 * text where the quotient has at most 15 significant digits.
 */

const pgCheck = await requireServer('postgres');
const myCheck = await requireServer('mysql');

const N = 5000;
const GROUPS = 50;

/** Deterministic amounts: 60% near the top of DECIMAL(12,2), so totals pass 15 digits; some negative, some null. */
function amountText(i: number): string | null {
  let s = (i * 2654435761 + 12345) % 4294967296;
  const next = (): number => (s = (s * 1103515245 + 12345) % 2147483648);
  if (i % 97 === 13) return null;
  const cents = String(next() % 100).padStart(2, '0');
  const whole = i % 5 < 3 ? 5_000_000_000 + next() : next() % 100_000;
  return `${i % 11 === 3 ? '-' : ''}${whole}.${cents}`;
}

/** A long exact value (> 15 significant digits) for joining and sorting on decimal strings. */
const preciseText = (i: number): string => `${(i * 7919) % 100000}${String(i).padStart(9, '0')}.${String((i * 104729) % 1_000_000_000).padStart(9, '0')}7`;

/** Decimal text without trailing fraction zeros: how the values policy spells a decimal. */
function canonical(text: string): string {
  const t = text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
  return t === '-0' ? '0' : t;
}

/** Integer cents as canonical decimal text. */
function centsText(c: bigint): string {
  const a = c < 0n ? -c : c;
  return canonical(`${c < 0n ? '-' : ''}${a / 100n}.${(a % 100n).toString().padStart(2, '0')}`);
}

/** The exact decimal a result value stands for, as text. */
const asText = (value: unknown): string => (typeof value === 'number' ? String(value) : String(value));

/** Significant digits of canonical decimal text. */
const digits = (text: string): number => text.replace(/[-.]/g, '').replace(/^0+/, '').replace(/0+$/, '').length;

interface Expected {
  grp: number;
  total: string;
  mean: string;
  n: number;
}

function checkGroups(rows: readonly Row[], expected: readonly Expected[], totalColumn = 'total', meanColumn = 'mean'): void {
  expect(rows).toHaveLength(expected.length);
  const byGroup = new Map(rows.map((r) => [Number(r.grp), r]));
  for (const e of expected) {
    const row = byGroup.get(e.grp);
    expect(row, `group ${e.grp}`).toBeDefined();
    // Sums: exactly the database's decimal, as text.
    expect(asText(row?.[totalColumn]), `sum of group ${e.grp}`).toBe(canonical(e.total));
    // Averages: the exact quotient rounded once to a double.
    expect(row?.[meanColumn], `avg of group ${e.grp}`).toBe(Number(e.mean));
    // Where the quotient has at most 15 significant digits, the double prints as it exactly.
    if (digits(canonical(e.mean)) <= 15) expect(String(row?.[meanColumn])).toBe(canonical(e.mean));
  }
}

const SUMS: MergeNode = {
  op: 'aggregate',
  input: 'pay',
  groupBy: ['grp'],
  aggregates: [
    { fn: 'sum', column: 'amount', as: 'total' },
    { fn: 'avg', column: 'amount', as: 'mean' },
    { fn: 'count', column: 'amount', as: 'n' },
  ],
};

describeWithServer(pgCheck.skipReason ? pgCheck : myCheck, 'exact decimals against PostgreSQL and MariaDB', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-decimals-'));
  const liteFile = join(dir, 'money.db');
  let pg: Admin;
  let my: Admin;
  let pgTables: ReturnType<typeof scratchTables>;
  let myTables: ReturnType<typeof scratchTables>;
  let pgPay: string;
  let pgCust: string;
  let myPay: string;
  let myCust: string;
  let executor: Executor;
  const customerOf = (i: number): number => (i * 31) % 400;
  const groupOf = (customer: number): number => customer % GROUPS;

  beforeAll(async () => {
    pg = await pgAdmin();
    my = await mysqlAdmin();
    await my.exec('SET SESSION div_precision_increment = 30');
    pgTables = scratchTables(pg);
    myTables = scratchTables(my);
    pgPay = pgTables.name('pay');
    pgCust = pgTables.name('cust');
    myPay = myTables.name('pay');
    myCust = myTables.name('cust');
    // The same payments on both servers; customers (with their group) on MariaDB, copied to
    // PostgreSQL only for the oracle statement of the join.
    await pg.exec(`CREATE TABLE ${pgPay} (id int PRIMARY KEY, customer_id int NOT NULL, grp int NOT NULL, amount DECIMAL(12,2), precise NUMERIC(30,10) NOT NULL)`);
    await pg.exec(`CREATE TABLE ${pgCust} (id int PRIMARY KEY, grp int NOT NULL)`);
    await my.exec(`CREATE TABLE ${myPay} (id int PRIMARY KEY, customer_id int NOT NULL, grp int NOT NULL, amount DECIMAL(12,2), precise DECIMAL(30,10) NOT NULL)`);
    await my.exec(`CREATE TABLE ${myCust} (id int PRIMARY KEY, grp int NOT NULL)`);
    const rows = Array.from({ length: N }, (_, i) => [i, customerOf(i), groupOf(customerOf(i)), amountText(i), preciseText(i)] as const);
    for (let start = 0; start < N; start += 500) {
      const chunk = rows.slice(start, start + 500);
      const pgPlaceholders = chunk.map((_, k) => `($${k * 5 + 1}, $${k * 5 + 2}, $${k * 5 + 3}, $${k * 5 + 4}::numeric, $${k * 5 + 5}::numeric)`).join(', ');
      await pg.exec(`INSERT INTO ${pgPay} VALUES ${pgPlaceholders}`, chunk.flat());
      await my.exec(`INSERT INTO ${myPay} VALUES ${chunk.map(() => '(?, ?, ?, ?, ?)').join(', ')}`, chunk.flat());
    }
    const customers = Array.from({ length: 400 }, (_, id) => [id, groupOf(id)] as const);
    await pg.exec(`INSERT INTO ${pgCust} VALUES ${customers.map((_, k) => `($${k * 2 + 1}, $${k * 2 + 2})`).join(', ')}`, customers.flat());
    await my.exec(`INSERT INTO ${myCust} VALUES ${customers.map(() => '(?, ?)').join(', ')}`, customers.flat());

    // SQLite has no decimal type: DECIMAL(12,2) has NUMERIC affinity, so 12.34 is stored as a REAL.
    const db = new Database(liteFile);
    db.exec('CREATE TABLE pay (id INTEGER PRIMARY KEY, grp INTEGER NOT NULL, amount DECIMAL(12,2))');
    const insert = db.prepare('INSERT INTO pay VALUES (?, ?, ?)');
    db.transaction(() => {
      for (const [id, , grp, amount] of rows) insert.run(id, grp, amount === null ? null : Number(amount));
    })();
    db.close();

    executor = createExecutor({
      sources: { pg: postgresSource({ url: pgUrl() }), my: mysqlSource({ url: mysqlUrl() }), lite: sqliteSource({ file: liteFile, readonly: true }) },
      cache: false,
    });
  });

  afterAll(async () => {
    await executor?.close();
    await pgTables?.dropAll();
    await myTables?.dropAll();
    rmSync(dir, { recursive: true, force: true });
  });

  /** PostgreSQL's per-group SUM (exact numeric) and its quotient to 30 decimals. */
  const pgExpected = async (from: string, group = 'grp'): Promise<Expected[]> =>
    (await pg.exec(
      `SELECT ${group} AS grp, SUM(amount)::text AS total, (SUM(amount)::numeric(60,30) / COUNT(amount))::text AS mean, COUNT(amount)::int AS n
       FROM ${from} GROUP BY ${group}`,
    )) as unknown as Expected[];

  it('sums and averages of DECIMAL(12,2) per group equal PostgreSQL numeric arithmetic', async () => {
    const result = await executor.execute({ fragments: [{ id: 'pay', source: 'pg', query: { sql: `SELECT grp, amount FROM ${pgPay}` } }], merge: SUMS });
    expect(result.errors).toEqual([]);
    const expected = await pgExpected(pgPay);
    expect(expected).toHaveLength(GROUPS);
    checkGroups(result.rows, expected);
    // Over all 5,000 rows at once.
    const all = await executor.execute({ fragments: [{ id: 'pay', source: 'pg', query: { sql: `SELECT amount FROM ${pgPay}` } }], merge: { op: 'aggregate', input: 'pay', aggregates: [{ fn: 'sum', column: 'amount', as: 'total' }] } });
    const [whole] = await pg.exec(`SELECT SUM(amount)::text AS total FROM ${pgPay}`);
    expect(asText(all.rows[0]?.total)).toBe(canonical(String(whole?.total)));
    // That total passes 15 significant digits: it is the exact decimal string.
    expect(digits(canonical(String(whole?.total)))).toBeGreaterThan(15);
    expect(typeof all.rows[0]?.total).toBe('string');
  });

  it('sums and averages of DECIMAL(12,2) per group equal MariaDB DECIMAL arithmetic', async () => {
    const result = await executor.execute({ fragments: [{ id: 'pay', source: 'my', query: { sql: `SELECT grp, amount FROM ${myPay}` } }], merge: SUMS });
    expect(result.errors).toEqual([]);
    const expected = (await my.exec(
      `SELECT grp, CAST(SUM(amount) AS CHAR) AS total, CAST(SUM(amount) / COUNT(amount) AS CHAR) AS mean, COUNT(amount) AS n FROM ${myPay} GROUP BY grp`,
    )) as unknown as Expected[];
    expect(expected).toHaveLength(GROUPS);
    checkGroups(result.rows, expected);
  });

  it('sums per group across a PostgreSQL ⋈ MariaDB join equal one SQL statement over one database', async () => {
    const result = await executor.execute({
      fragments: [
        { id: 'pay', source: 'pg', query: { sql: `SELECT id, customer_id, amount FROM ${pgPay}` } },
        { id: 'cust', source: 'my', query: { sql: `SELECT id AS cid, grp FROM ${myCust}` } },
      ],
      merge: { ...SUMS, input: { op: 'join', type: 'inner', left: 'pay', right: 'cust', on: [['customer_id', 'cid']] } } as MergeNode,
    });
    expect(result.errors).toEqual([]);
    checkGroups(result.rows, await pgExpected(`${pgPay} p JOIN ${pgCust} c ON c.id = p.customer_id`, 'c.grp'));
  });

  it('joins and sorts on exact decimals the same way from both servers', async () => {
    // NUMERIC(30,10) values of 20+ significant digits arrive as exact strings from both
    // servers, spelt alike, so each PostgreSQL row meets exactly its MariaDB twin.
    const result = await executor.execute({
      fragments: [
        { id: 'a', source: 'pg', query: { sql: `SELECT id, precise, amount FROM ${pgPay}` } },
        { id: 'b', source: 'my', query: { sql: `SELECT id AS bid, precise AS p2, amount AS a2 FROM ${myPay}` } },
      ],
      merge: {
        op: 'sort',
        by: [{ column: 'precise', desc: true }],
        input: { op: 'join', type: 'inner', left: 'a', right: 'b', on: [['precise', 'p2'], ['amount', 'a2']] },
      },
    });
    expect(result.errors).toEqual([]);
    const withAmount = (await pg.exec(`SELECT count(amount)::int AS n FROM ${pgPay}`))[0]?.n;
    expect(result.rows).toHaveLength(withAmount as number); // a null amount joins nothing
    expect(result.rows.every((r) => r.id === r.bid)).toBe(true);
    expect(typeof result.rows[0]?.precise).toBe('string');
    const order = (await pg.exec(`SELECT id FROM ${pgPay} WHERE amount IS NOT NULL ORDER BY precise DESC`)).map((r) => r.id);
    expect(result.rows.map((r) => r.id)).toEqual(order);
  });

  it('SQLite has no decimal type: its REALs (each the decimal written, ≤ 15 digits) sum exactly as those decimals', async () => {
    const result = await executor.execute({ fragments: [{ id: 'pay', source: 'lite', query: { sql: 'SELECT grp, amount FROM pay' } }], merge: SUMS });
    expect(result.errors).toEqual([]);
    // The oracle: SQLite itself, adding integer cents (exact), against PostgreSQL's numeric.
    const db = new Database(liteFile, { readonly: true });
    const cents = db.prepare('SELECT grp, SUM(CAST(ROUND(amount * 100) AS INTEGER)) AS c FROM pay GROUP BY grp').all() as { grp: number; c: number }[];
    db.close();
    const expected = await pgExpected(pgPay);
    const pgByGroup = new Map(expected.map((e) => [e.grp, e]));
    expect(cents).toHaveLength(GROUPS);
    for (const { grp, c } of cents) expect(centsText(BigInt(c))).toBe(canonical(pgByGroup.get(grp)?.total ?? ''));
    checkGroups(result.rows, expected);
  });
});
