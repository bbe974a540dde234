import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, sqliteSource, TributaryError, type ExecuteContext, type Row, type SourceExecutor } from '../../src/index.js';

let dir: string;
let file: string;
const opened: SourceExecutor[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-sqlite-'));
  file = path.join(dir, 'test.db');
  const db = new Database(file);
  db.exec(`
    CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, active INTEGER);
    INSERT INTO users VALUES (1, 'ann', 1.5, 1), (2, 'bob', NULL, 0), (3, 'cy', 3.25, 1), (9007199254740993, 'big', 0, 1);
    CREATE TABLE big (n INTEGER);
    INSERT INTO big VALUES (9007199254740991), (9007199254740993), (-9223372036854775808), (9223372036854775807);
  `);
  db.close();
});

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close?.()));
  fs.rmSync(dir, { recursive: true, force: true });
});

function open(options: Partial<Parameters<typeof sqliteSource>[0]> = {}): SourceExecutor {
  const source = sqliteSource({ file, ...options });
  opened.push(source);
  return source;
}

const ctx = (params: unknown[] = [], over: Partial<ExecuteContext> = {}): ExecuteContext => ({ params, signal: new AbortController().signal, ...over });
const exec = (source: SourceExecutor, sql: string, params: unknown[] = [], over: Partial<ExecuteContext> = {}) =>
  Promise.resolve(source.execute(source.querySchema.parse({ sql, params }), ctx(params, over)) as Promise<Row[]>);

describe('sqliteSource', () => {
  it('runs a query with ? placeholders bound from ctx.params', async () => {
    const s = open();
    expect(await exec(s, 'SELECT id, name, score FROM users WHERE active = ? AND id < ? ORDER BY id', [1, 100])).toEqual([
      { id: 1, name: 'ann', score: 1.5 },
      { id: 3, name: 'cy', score: 3.25 },
    ]);
  });

  it('binds a list as one JSON parameter for IN (SELECT value FROM json_each(?))', async () => {
    const s = open();
    const rows = await exec(s, 'SELECT name FROM users WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id', [[3, 1, 42]]);
    expect(rows).toEqual([{ name: 'ann' }, { name: 'cy' }]);
    expect(await exec(s, 'SELECT name FROM users WHERE id IN (SELECT value FROM json_each(?))', [[]])).toEqual([]);
    expect(await exec(s, 'SELECT name FROM users WHERE name IN (SELECT value FROM json_each(?)) ORDER BY name', [['bob', "o'brien", 'cy']])).toEqual([
      { name: 'bob' },
      { name: 'cy' },
    ]);
  });

  it('returns integers beyond 2^53 as exact strings and safe ones as numbers', async () => {
    const s = open();
    expect((await exec(s, 'SELECT n FROM big ORDER BY rowid')).map((r) => r.n)).toEqual([
      9007199254740991,
      '9007199254740993',
      '-9223372036854775808',
      '9223372036854775807',
    ]);
  });

  it('matches a big integer sent back in a bound list (bind join on a 64-bit key)', async () => {
    const s = open();
    const [big] = await exec(s, "SELECT id FROM users WHERE name = 'big'");
    expect(big!.id).toBe('9007199254740993');
    expect(await exec(s, 'SELECT name FROM users WHERE id IN (SELECT value FROM json_each(?))', [[big!.id]])).toEqual([{ name: 'big' }]);
    expect(await exec(s, 'SELECT name FROM users WHERE id = ?', [9007199254740993n])).toEqual([{ name: 'big' }]);
  });

  it('treats an injection string as data: it is returned, and the table survives', async () => {
    const s = open();
    const evil = "x'); DROP TABLE users; --";
    expect(await exec(s, 'SELECT ? AS v', [evil])).toEqual([{ v: evil }]);
    expect(await exec(s, 'SELECT name FROM users WHERE name = ?', [evil])).toEqual([]);
    expect(await exec(s, 'SELECT name FROM users WHERE name IN (SELECT value FROM json_each(?))', [[evil, '"]); DROP TABLE users; --']])).toEqual([]);
    expect(await exec(s, 'SELECT count(*) AS n FROM users')).toEqual([{ n: 4 }]);
  });

  it('passes a $param injection string through a plan as a bound value', async () => {
    const executor = createExecutor({ sources: { db: sqliteSource({ file }) } });
    const evil = "'; DROP TABLE users; --";
    const result = await executor.execute(
      { fragments: [{ id: 'q', source: 'db', query: { sql: 'SELECT ? AS echoed, (SELECT count(*) FROM users) AS n', params: [{ $param: 'name' }] } }] },
      { params: { name: evil } },
    );
    expect(result.rows).toEqual([{ echoed: evil, n: 4 }]);
    await executor.close();
    expect(await exec(open(), 'SELECT count(*) AS n FROM users')).toEqual([{ n: 4 }]);
  });

  it('sends booleans as 1/0 and undefined as NULL', async () => {
    const s = open();
    expect(await exec(s, 'SELECT ? AS t, ? AS f, ? AS u', [true, false, undefined])).toEqual([{ t: 1, f: 0, u: null }]);
  });

  it('sends a Date as its ISO 8601 text and an object as JSON text', async () => {
    const s = open();
    const at = new Date(Date.UTC(2026, 11, 6, 21, 5, 7, 89));
    expect(await exec(s, 'SELECT ? AS d, json_extract(?, \'$.a\') AS a', [at, { a: 2 }])).toEqual([{ d: '2026-12-06T21:05:07.089Z', a: 2 }]);
    // As text, a Date compares with ISO text stored in the table; it is not JSON, so json_each(?) rejects it.
    await expect(exec(s, 'SELECT value FROM json_each(?)', [at])).rejects.toMatchObject({ code: 'FRAGMENT_FAILED' });
  });

  it('sends a typed array as a blob and a boxed primitive as its primitive', async () => {
    const s = open();
    const bytes = new Uint8Array([0, 1, 255, 7]).subarray(1, 3);
    const [row] = await exec(s, 'SELECT ? AS b, typeof(?) AS t, ? AS n, ? AS s', [bytes, bytes, Object(2), Object('x')]);
    expect(row).toEqual({ b: Buffer.from([1, 255]), t: 'blob', n: 2, s: 'x' });
  });

  it('readonly: reads work, writes are rejected and change nothing', async () => {
    const s = open({ readonly: true });
    expect(await exec(s, 'SELECT count(*) AS n FROM users')).toEqual([{ n: 4 }]);
    const error = await exec(s, "INSERT INTO users (name) VALUES ('mallory')").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TributaryError);
    expect(error).toMatchObject({ code: 'FRAGMENT_FAILED', retryable: false, driverCode: 'SQLITE_READONLY' });
    await expect(exec(s, 'DROP TABLE users')).rejects.toMatchObject({ code: 'FRAGMENT_FAILED' });
    expect(await exec(open(), 'SELECT count(*) AS n FROM users')).toEqual([{ n: 4 }]);
  });

  it('readonly: a missing file is SOURCE_UNAVAILABLE and is not created', async () => {
    const missing = path.join(dir, 'missing.db');
    await expect(exec(open({ file: missing, readonly: true }), 'SELECT 1')).rejects.toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: false });
    expect(fs.existsSync(missing)).toBe(false);
  });

  it('without readonly, runs a write and returns no rows', async () => {
    const s = open({ file: path.join(dir, 'scratch.db') });
    expect(await exec(s, 'CREATE TABLE t (x)')).toEqual([]);
    expect(await exec(s, 'INSERT INTO t VALUES (?)', [7])).toEqual([]);
    expect(await exec(s, 'SELECT x FROM t')).toEqual([{ x: 7 }]);
  });

  it('reports a syntax error as non-retryable FRAGMENT_FAILED with the driver code', async () => {
    const error = (await exec(open(), 'SELEC nothing').catch((e: unknown) => e)) as TributaryError;
    expect(error).toMatchObject({ code: 'FRAGMENT_FAILED', retryable: false, driverCode: 'SQLITE_ERROR' });
    expect(error.message).toContain('SELEC nothing');
    expect(open().isRetryable?.(error)).toBe(false);
    expect(open().isRetryable?.({ code: 'SQLITE_BUSY' })).toBe(true);
  });

  it('rejects at once, running nothing, when the signal is already aborted', async () => {
    const reason = new Error('cancelled');
    await expect(exec(open(), 'SELECT 1 AS one', [], { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  it('enforces maxRows with LIMIT_EXCEEDED', async () => {
    await expect(exec(open(), 'SELECT id FROM users', [], { limits: { maxRows: 2 } })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    await expect(exec(open({ maxRows: 3 }), 'SELECT id FROM users')).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
  });

  it('checks its native query schema: { sql, params? }', () => {
    const s = open();
    expect(s.querySchema.safeParse({ sql: 'SELECT 1' }).success).toBe(true);
    expect(s.querySchema.safeParse({ sql: '   ' }).success).toBe(false);
    expect(s.querySchema.safeParse({ sql: 'SELECT 1', extra: 1 }).success).toBe(false);
    expect(s.querySchema.safeParse({ sql: 'SELECT ?', params: [{ $from: 'a' }] }).success).toBe(false);
  });

  it('reports its version and closes idempotently; a closed source is unavailable', async () => {
    const s = sqliteSource({ file });
    expect(await s.version?.()).toMatch(/^sqlite:3\.\d+/);
    await s.close?.();
    await s.close?.();
    await expect(exec(s, 'SELECT 1')).rejects.toMatchObject({ code: 'SOURCE_UNAVAILABLE' });
  });
});
