import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, from, mysqlSource, param, postgresSource, type Executor, type Plan, type Row } from '../../src/index.js';
import { plainNumberText } from '../../src/data/decimal.js';
import { describeWithServer, mysqlAdmin, mysqlUrl, pgAdmin, pgUrl, requireServer, scratchTables, type Admin } from '../support/servers.js';

/**
 * Scalars and lists bound into MariaDB/MySQL statements behave as the same value written as
 * a literal in the SQL: a bigint or a number as the integer or decimal literal it spells, a
 * string as the quoted string, a list holding numbers as a list of numeric literals (its
 * decimal strings too). Each case runs the statement with the value bound and again with the
 * literal in the text, through the same source (so the values policy reads both alike), and,
 * where the same statement is valid there, on PostgreSQL over the same data.
 */

const pgCheck = await requireServer('postgres');
const myCheck = await requireServer('mysql');

/** Columns b BIGINT, u BIGINT UNSIGNED (PG: NUMERIC(20,0)), d DECIMAL(30,0), f DECIMAL(30,4), v VARCHAR(40). */
const ROWS: [number, string, string, string, string, string][] = [
  [1, '9007199254740992', '9007199254740992', '9007199254740992', '123456789012345678.91', '9007199254740992'],
  [2, '9007199254740993', '9007199254740993', '9007199254740993', '123456789012345678.92', '9007199254740993'],
  [3, '9007199254740994', '9223372036854775808', '18446744073709551616', '123456789012345678.93', '18446744073709551616'],
  [4, '-9007199254740993', '9223372036854775809', '18446744073709551617', '0.1', '18446744073709551617'],
  [5, '-9007199254740992', '18446744073709551615', '-9007199254740993', '0.1001', '-9007199254740993'],
  [6, '9223372036854775807', '18446744073709551614', '-9007199254740992', '12.5', '-9007199254740992'],
  [7, '-9223372036854775808', '7', '99999999999999999999', '12.5001', '9223372036854775809'],
  [8, '7', '0', '7', '7', '7'],
  [9, '3002399751580331', '3002399751580331', '1000000000000000000', '-12.5', '09007199254740993'],
  [10, '1000000000000000000', '1000000000000000000', '1000000000000000001', '1000000000000000000.0001', '1000000000000000000'],
];

/** The value as a literal of MySQL's (and PostgreSQL's) SQL: numbers bare, strings quoted. */
function literal(value: unknown): string {
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'number') return plainNumberText(value);
  return `'${String(value)}'`;
}

/** A list as literals: one holding a number or a bigint is numeric, its decimal strings too. */
function listLiteral(list: readonly unknown[]): string {
  const numeric = list.some((v) => typeof v === 'number' || typeof v === 'bigint');
  return list.map((v) => (numeric ? (typeof v === 'string' ? v : literal(v)) : literal(v))).join(', ');
}

const SCALARS: unknown[] = [
  9007199254740993n, -9007199254740993n, 9223372036854775807n, -9223372036854775808n, 9223372036854775809n,
  18446744073709551615n, 18446744073709551617n, 7n, 0n,
  3002399751580331, 9007199254740992, 1e18, -7, 0.1, 12.5, 1e-7,
  '9007199254740993', '-9007199254740993', '123456789012345678.92', '7',
];

/** `{}` is the value: `?` bound, or the literal. */
const ARITHMETIC = ['SELECT {} AS r', 'SELECT {} + 0 AS r', 'SELECT {} * 3 AS r', 'SELECT {} - 1 AS r', 'SELECT 0 - {} AS r', 'SELECT {} DIV 2 AS r'];
const COMPARISONS = (table: string) =>
  ['b', 'u', 'd', 'f', 'v'].flatMap((c) => [
    `SELECT id FROM ${table} WHERE ${c} = {} ORDER BY id`,
    `SELECT id FROM ${table} WHERE ${c} < {} ORDER BY id`,
    `SELECT id FROM ${table} WHERE ${c} IN ({}, 7) ORDER BY id`,
    `SELECT ${c} + {} AS r FROM ${table} WHERE id = 8`,
  ]);

describeWithServer(pgCheck.skipReason ? pgCheck : myCheck, 'params bound into MariaDB/MySQL, against the same value written as a literal', () => {
  let pg: Admin;
  let my: Admin;
  let myTables: ReturnType<typeof scratchTables>;
  let nums: string;
  let keys: string;
  let bigKeys: string;
  let executor: Executor;

  beforeAll(async () => {
    pg = await pgAdmin();
    my = await mysqlAdmin();
    // The same names on both servers.
    myTables = scratchTables(my);
    nums = myTables.name('nums');
    keys = myTables.name('keys');
    bigKeys = myTables.name('bigkeys');
    await my.exec(`CREATE TABLE ${nums} (id INT PRIMARY KEY, b BIGINT, u BIGINT UNSIGNED, d DECIMAL(30,0), f DECIMAL(30,4), v VARCHAR(40), KEY (b), KEY (d), KEY (v))`);
    await pg.exec(`CREATE TABLE ${nums} (id INT PRIMARY KEY, b BIGINT, u NUMERIC(20,0), d NUMERIC(30,0), f NUMERIC(30,4), v VARCHAR(40))`);
    const values = ROWS.map(([id, b, u, d, f, v]) => `(${id}, ${b}, ${u}, ${d}, ${f}, '${v}')`).join(', ');
    await my.exec(`INSERT INTO ${nums} VALUES ${values}`);
    await pg.exec(`INSERT INTO ${nums} VALUES ${values}`);
    // Upstream keys for bind joins: small ones (numbers) with ones beyond 2^53 (decimal strings), and the big ones alone.
    for (const admin of [pg, my]) {
      await admin.exec(`CREATE TABLE ${keys} (k BIGINT)`);
      await admin.exec(`INSERT INTO ${keys} VALUES (7), (9007199254740993), (-9007199254740993), (9223372036854775807), (1000000000000000000), (3002399751580331)`);
      await admin.exec(`CREATE TABLE ${bigKeys} (k BIGINT)`);
      await admin.exec(`INSERT INTO ${bigKeys} VALUES (9007199254740993), (-9007199254740993), (9223372036854775807), (1000000000000000001)`);
    }
    executor = createExecutor({ sources: { pg: postgresSource({ url: pgUrl() }), my: mysqlSource({ url: mysqlUrl() }) }, cache: false });
  });

  afterAll(async () => {
    await executor?.close();
    for (const table of [nums, keys, bigKeys]) if (table !== undefined) await pg?.exec(`DROP TABLE IF EXISTS ${table}`);
    await pg?.close();
    await myTables?.dropAll();
  });

  /** The statement's rows, or its error message. */
  async function outcome(source: 'my' | 'pg', sql: string, value?: unknown): Promise<Row[] | string> {
    const plan: Plan = { fragments: [{ id: 'q', source, query: value === undefined ? { sql } : { sql, params: [param('p')] } }] };
    const result = await executor.execute(plan, value === undefined ? {} : { params: { p: value } });
    return result.errors.length > 0 ? (result.errors[0]!.cause as Error | undefined)?.message ?? result.errors[0]!.message : result.rows.map((r) => ({ ...r }));
  }

  /** The cases whose bound outcome differs from the literal's on MariaDB or (where it runs) on PostgreSQL. */
  async function mismatches(templates: readonly string[], value: unknown, text: string): Promise<{ checkedOnPg: number; wrong: string[] }> {
    const wrong: string[] = [];
    let checkedOnPg = 0;
    for (const t of templates) {
      const bound = await outcome('my', t.replace('{}', '?'), value);
      const sql = t.replace('{}', text);
      const lit = await outcome('my', sql);
      if (JSON.stringify(bound) !== JSON.stringify(lit)) wrong.push(`${sql}: bound ${JSON.stringify(bound)}, literal ${JSON.stringify(lit)}`);
      // PostgreSQL: the same statement where it runs there (a VARCHAR compares with no number,
      // and it orders text by its own collation), and where MariaDB's literal has an answer;
      // not for a string, which PostgreSQL types from its context and MariaDB keeps as text.
      if (typeof lit === 'string' || typeof value === 'string' || / v /.test(t) || t.includes('DIV')) continue;
      const onPg = await outcome('pg', sql);
      if (typeof onPg === 'string') continue;
      checkedOnPg++;
      if (JSON.stringify(bound) !== JSON.stringify(onPg)) wrong.push(`${sql}: bound ${JSON.stringify(bound)}, PostgreSQL ${JSON.stringify(onPg)}`);
    }
    return { checkedOnPg, wrong };
  }

  it.each(SCALARS.map((v) => [typeof v === 'string' ? `'${v}'` : typeof v === 'bigint' ? `${v}n` : String(v), v]))(
    'binds %s as its literal: arithmetic and comparisons with BIGINT, BIGINT UNSIGNED, DECIMAL and VARCHAR columns',
    async (_, value) => {
      const { checkedOnPg, wrong } = await mismatches([...ARITHMETIC, ...COMPARISONS(nums)], value, literal(value));
      expect(wrong).toEqual([]);
      if (typeof value !== 'string') expect(checkedOnPg).toBeGreaterThan(0);
    },
  );

  const LISTS: unknown[][] = [
    [7, 9007199254740993n],
    [9007199254740993n, -9007199254740993n],
    [7n, 9223372036854775809n, 18446744073709551615n],
    [9007199254740993n, 18446744073709551617n],
    [7, '9007199254740993', '-9007199254740993'],
    [3002399751580331, 9007199254740992, 1e18],
    [0.1, 12.5, 7],
    [7, '123456789012345678.92'],
    ['9007199254740993', '9223372036854775809'],
    ['123456789012345678.92', '0.1'],
    ['7', '18446744073709551617'],
  ];

  it.each(LISTS.map((l) => [l.map((v) => (typeof v === 'bigint' ? `${v}n` : JSON.stringify(v))).join(', '), l]))(
    'binds the list [%s] into IN (?) as its list of literals on every column type',
    async (_, list) => {
      const templates = ['b', 'u', 'd', 'f', 'v'].map((c) => `SELECT id FROM ${nums} WHERE ${c} IN ({}) ORDER BY id`);
      const wrong: string[] = [];
      for (const t of templates) {
        const bound = await outcome('my', t.replace('{}', '?'), list);
        const sql = t.replace('{}', listLiteral(list));
        const lit = await outcome('my', sql);
        if (JSON.stringify(bound) !== JSON.stringify(lit)) wrong.push(`${sql}: bound ${JSON.stringify(bound)}, literal ${JSON.stringify(lit)}`);
      }
      expect(wrong).toEqual([]);
    },
  );

  it('binds a PostgreSQL BIGINT column ($from) into IN (?) on each column type as the literal list, and as PostgreSQL answers', async () => {
    // keys: numbers and decimal strings, a numeric list; bigKeys: decimal strings only, sent as text.
    for (const [upstream, numeric] of [[keys, true], [bigKeys, false]] as const) {
      const pgKeys = (await pg.exec(`SELECT k::text AS k FROM ${upstream}`)).map((r) => String(r.k));
      for (const c of ['b', 'u', 'd', 'f', 'v']) {
        const result = await executor.execute({
          fragments: [
            { id: 'up', source: 'pg', query: { sql: `SELECT k FROM ${upstream}` } },
            { id: 'dn', source: 'my', dependsOn: ['up'], query: { sql: `SELECT id FROM ${nums} WHERE ${c} IN (?)`, params: [from('up', 'k')] } },
          ],
          merge: { op: 'sort', by: [{ column: 'id' }], input: 'dn' },
        });
        expect(result.errors.map((e) => e.message)).toEqual([]);
        const got = result.rows.map((r) => r.id);
        const list = numeric ? pgKeys.join(', ') : pgKeys.map((k) => `'${k}'`).join(', ');
        const oracle = (await my.exec(`SELECT id FROM ${nums} WHERE ${c} IN (${list}) ORDER BY id`)).map((r) => r.id);
        expect(got, `${upstream}.k into ${c}`).toEqual(oracle);
        // A DECIMAL column against a list of strings is compared as doubles (README: the MariaDB section).
        if (c === 'v' || (!numeric && (c === 'd' || c === 'f'))) continue;
        const onPg = (await pg.exec(`SELECT id FROM ${nums} WHERE ${c} IN (SELECT k FROM ${upstream}) ORDER BY id`)).map((r) => r.id);
        expect(got, `${upstream}.k into ${c} on PostgreSQL`).toEqual(onPg);
      }
    }
  });

  it('bind-joins MariaDB BIGINT keys into PostgreSQL and back, as one PostgreSQL statement over the same tables', async () => {
    const result = await executor.execute({
      fragments: [
        { id: 'a', source: 'my', query: { sql: `SELECT b FROM ${nums}` } },
        { id: 'b', source: 'pg', dependsOn: ['a'], query: { sql: `SELECT k FROM ${keys} WHERE k = ANY($1)`, params: [from('a', 'b')] } },
        { id: 'c', source: 'my', dependsOn: ['b'], query: { sql: `SELECT id, b FROM ${nums} WHERE b IN (?)`, params: [from('b', 'k')] } },
      ],
      merge: { op: 'sort', by: [{ column: 'id' }], input: 'c' },
    });
    expect(result.errors.map((e) => e.message)).toEqual([]);
    const oracle = await executor.execute({
      fragments: [{ id: 'o', source: 'pg', query: { sql: `SELECT id, b FROM ${nums} WHERE b IN (SELECT k FROM ${keys} WHERE k IN (SELECT b FROM ${nums})) ORDER BY id` } }],
    });
    expect(result.rows).toEqual(oracle.rows);
    expect(result.rows.map((r) => r.b)).toEqual(['9007199254740993', '-9007199254740993', '9223372036854775807', 7, 3002399751580331, '1000000000000000000']);
  });

  it('reads BIGINT, BIGINT UNSIGNED and DECIMAL columns as the values policy says, as PostgreSQL gives the same values', async () => {
    const sql = `SELECT id, b, u, d, f FROM ${nums} ORDER BY id`;
    const [mine, theirs] = [await outcome('my', sql), await outcome('pg', sql)];
    expect(mine).toEqual(theirs);
    const rows = mine as Row[];
    // number when a safe integer (or a fraction of ≤ 15 digits), else the exact decimal string
    expect(rows[1]).toEqual({ id: 2, b: '9007199254740993', u: '9007199254740993', d: '9007199254740993', f: '123456789012345678.92' });
    expect(rows[4]).toEqual({ id: 5, b: '-9007199254740992', u: '18446744073709551615', d: '-9007199254740993', f: 0.1001 });
    expect(rows[7]).toEqual({ id: 8, b: 7, u: 0, d: 7, f: 7 });
  });
});
