import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteSource, type ExecuteContext, type Row } from '../../src/index.js';

const COUNT = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT count(*) AS n FROM c`;

describe('sqliteSource({ thread: true })', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-sqlite-thread-'));
  const file = join(dir, 'db.sqlite');
  const db = new Database(file);
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, big INTEGER, label TEXT)');
  db.prepare('INSERT INTO t VALUES (?, ?, ?)').run(1, 9007199254740993n, 'a');
  db.prepare('INSERT INTO t VALUES (?, ?, ?)').run(2, 7, 'b');
  db.close();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const ctx = (params: unknown[], signal = new AbortController().signal): ExecuteContext => ({ params, signal, fragmentId: 'f' });
  const call = (source: ReturnType<typeof sqliteSource>, sql: string, params: unknown[], signal?: AbortSignal) =>
    source.execute({ sql }, ctx(params, signal)) as Promise<Row[]>;

  it('returns the same rows as the event-loop source, values policy included', async () => {
    const threaded = sqliteSource({ file, readonly: true, thread: true });
    const plain = sqliteSource({ file, readonly: true });
    const sql = 'SELECT id, big, label FROM t WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id';
    expect(await call(threaded, sql, [[1, 2]])).toEqual(await call(plain, sql, [[1, 2]]));
    expect(await call(threaded, sql, [[1, 2]])).toEqual([{ id: 1, big: '9007199254740993', label: 'a' }, { id: 2, big: 7, label: 'b' }]);
    await threaded.close?.();
    await plain.close?.();
  });

  it('returns BLOBs as Buffers, as the event-loop source does, though they cross the thread as plain Uint8Arrays', async () => {
    const threaded = sqliteSource({ file, readonly: true, thread: true });
    const plain = sqliteSource({ file, readonly: true });
    const sql = "SELECT id, X'00ff10' AS bin, zeroblob(2) AS zeros, CAST('hi' AS BLOB) AS text_bytes FROM t ORDER BY id";
    const rows = await call(threaded, sql, []);
    for (const row of rows) for (const column of ['bin', 'zeros', 'text_bytes']) expect(Buffer.isBuffer(row[column]), column).toBe(true);
    expect(rows[0]).toEqual({ id: 1, bin: Buffer.from([0x00, 0xff, 0x10]), zeros: Buffer.alloc(2), text_bytes: Buffer.from('hi') });
    expect(rows).toEqual(await call(plain, sql, []));
    expect((rows[0]?.bin as Buffer).toString('hex')).toBe('00ff10');
    await threaded.close?.();
    await plain.close?.();
  });

  it('keeps the event loop free while a long statement runs; the event-loop source blocks it', async () => {
    const ticksDuring = async (source: ReturnType<typeof sqliteSource>): Promise<number> => {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      const before = ticks;
      const rows = await call(source, COUNT, [3_000_000]);
      clearInterval(timer);
      expect(rows).toEqual([{ n: 3_000_000 }]);
      return ticks - before;
    };
    const threaded = sqliteSource({ file, thread: true });
    const plain = sqliteSource({ file });
    expect(await ticksDuring(plain)).toBe(0);
    expect(await ticksDuring(threaded)).toBeGreaterThan(0);
    await threaded.close?.();
    await plain.close?.();
  });

  it('an abort stops the statement by ending its thread, and the next call works on a fresh one', async () => {
    const threaded = sqliteSource({ file, thread: true });
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    // 20 M rows: seconds of work, long past the abort, but bounded (the terminated thread runs
    // its native step to its end, burning a core meanwhile).
    const pending = call(threaded, COUNT, [20_000_000], controller.signal);
    setTimeout(() => controller.abort(reason), 50);
    await expect(pending).rejects.toBe(reason);
    expect(await call(threaded, 'SELECT 41 + 1 AS answer', [])).toEqual([{ answer: 42 }]);
    await threaded.close?.();
    await threaded.close?.();
  });

  it('a file it cannot open fails as the event-loop source says it (SOURCE_UNAVAILABLE, the reason), and the next call tries again', async () => {
    const missing = join(dir, 'not-yet.sqlite');
    for (const thread of [false, true]) {
      const source = sqliteSource({ file: missing, readonly: true, thread });
      const error = await call(source, 'SELECT 1 AS one', []).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: false, message: `cannot open SQLite database ${missing}: unable to open database file` });
      new Database(missing).close();
      expect(await call(source, 'SELECT 1 AS one', [])).toEqual([{ one: 1 }]);
      await source.close?.();
      rmSync(missing);
    }
  });

  it('counts rows against maxRows on the thread', async () => {
    const threaded = sqliteSource({ file, thread: true, maxRows: 1 });
    await expect(call(threaded, 'SELECT id FROM t', [])).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    await threaded.close?.();
  });
});
