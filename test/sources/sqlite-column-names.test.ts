import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteSource, type ExecuteContext, type Row } from '../../src/index.js';

// better-sqlite3 builds each row with `row[name] = value`: a column named `__proto__`
// would set the row's prototype (a blob) or vanish (anything else) instead of being read.
const SQL = `SELECT x'0001' AS "__proto__", 2 AS b, 'k' AS "constructor"`;
const SCALAR = `SELECT 7 AS "__proto__", 8 AS b`;

async function whole(source: ReturnType<typeof sqliteSource>, sql: string): Promise<Row[]> {
  const ctx: ExecuteContext = { params: [], signal: new AbortController().signal };
  return (await source.execute({ sql }, ctx)) as Row[];
}

async function streamed(source: ReturnType<typeof sqliteSource>, sql: string): Promise<Row[]> {
  const ctx: ExecuteContext = { params: [], signal: new AbortController().signal, stream: true };
  const rows: Row[] = [];
  for await (const batch of source.execute({ sql }, ctx) as AsyncIterable<Row[]>) rows.push(...batch);
  return rows;
}

function expectOwnProto(rows: Row[], value: unknown): void {
  expect(rows).toHaveLength(1);
  const [row] = rows as [Row];
  expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
  expect(Object.keys(row)[0]).toBe('__proto__');
  expect(Object.getOwnPropertyDescriptor(row, '__proto__')?.value).toEqual(value);
}

describe('sqliteSource: a column named __proto__', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-sqlite-names-'));
  const file = join(dir, 'db.sqlite');
  const sources = [sqliteSource({ file }), sqliteSource({ file, thread: true })];
  afterAll(async () => {
    await Promise.all(sources.map((s) => s.close?.()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('is an own column of the row, whole, streamed and on a thread, and the prototype stays', async () => {
    const [plain, threaded] = sources as [ReturnType<typeof sqliteSource>, ReturnType<typeof sqliteSource>];
    for (const rows of [await whole(plain, SQL), await streamed(plain, SQL), await whole(threaded, SQL)]) {
      expectOwnProto(rows, Buffer.from([0, 1]));
      expect(rows[0]).toMatchObject({ b: 2, constructor: 'k' });
    }
    for (const rows of [await whole(plain, SCALAR), await streamed(plain, SCALAR), await whole(threaded, SCALAR)]) {
      expectOwnProto(rows, 7);
      expect(rows[0]?.b).toBe(8);
    }
  });

  it('leaves the next statement on the same cached statement reading objects as usual', async () => {
    const [plain] = sources as [ReturnType<typeof sqliteSource>];
    await whole(plain, SCALAR);
    expect(await whole(plain, 'SELECT 1 AS a')).toEqual([{ a: 1 }]);
  });
});
