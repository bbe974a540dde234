import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { columnsOf } from '../../src/data/columns.js';
import type { Row } from '../../src/data/row.js';
import { memorySource, sqliteSource, type ExecuteContext } from '../../src/index.js';

/** Sources without a server name their columns even when no row comes back (withColumns). */
const dir = mkdtempSync(join(tmpdir(), 'tributary-zero-'));
const file = join(dir, 'z.db');
const ctx = (stream = false): ExecuteContext => ({ params: [], signal: new AbortController().signal, ...(stream ? { stream: true } : {}) });

beforeAll(() => {
  const db = new Database(file);
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, amount DECIMAL(12,2), note TEXT); INSERT INTO t VALUES (1, 12.5, NULL)');
  db.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function batches(result: Promise<Row[]> | AsyncIterable<Row[]>): Promise<Row[][]> {
  if (result instanceof Promise) return [await result];
  const out: Row[][] = [];
  for await (const batch of result) out.push(batch);
  return out;
}

describe('zero-row results name their columns', () => {
  it.each([
    ['SQLite', false, false],
    ['SQLite on its worker thread', true, false],
    ['SQLite streaming', false, true],
  ])('%s', async (_, thread, stream) => {
    const source = sqliteSource({ file, readonly: true, ...(thread ? { thread: true } : {}) });
    try {
      const [first, ...rest] = await batches(source.execute({ sql: 'SELECT id, amount AS total, note FROM t WHERE id < 0' }, ctx(stream)));
      expect(first).toEqual([]);
      expect(rest).toEqual([]);
      expect(columnsOf(first ?? [])).toEqual(['id', 'total', 'note']);
      // With rows, the same names ride on the (first) batch.
      const [full] = await batches(source.execute({ sql: 'SELECT amount, id FROM t' }, ctx(stream)));
      expect(full).toEqual([{ amount: 12.5, id: 1 }]);
      expect(columnsOf(full ?? [])).toEqual(['amount', 'id']);
    } finally {
      await source.close?.();
    }
  });

  it('memory: the table columns, or the projected ones', async () => {
    const source = memorySource({ tables: { t: [{ a: 1, b: 2 }, { a: 3, c: 4 }] } });
    const none = (await source.execute({ table: 't', where: { gt: ['a', 9] } }, ctx())) as Row[];
    expect(columnsOf(none)).toEqual(['a', 'b', 'c']);
    const projected = (await source.execute({ table: 't', columns: ['c', 'a'], where: { gt: ['a', 9] } }, ctx())) as Row[];
    expect(columnsOf(projected)).toEqual(['c', 'a']);
  });
});
