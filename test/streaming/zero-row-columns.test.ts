import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, sqliteSource, type Executor } from '../../src/index.js';

/** A streamed result that yields no row still says what its columns are. */
describe('streaming zero rows', () => {
  let dir: string;
  let executor: Executor;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-zero-'));
    const file = path.join(dir, 'z.db');
    const db = new Database(file);
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, \'one\')');
    db.close();
    executor = createExecutor({
      sources: { db: sqliteSource({ file }), mem: memorySource({ tables: { k: [{ id: 1, tag: 'x' }] } }) },
      cache: false,
    });
  });
  afterAll(async () => {
    await executor.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const drain = async (run: ReturnType<Executor['run']>): Promise<number> => {
    let n = 0;
    for await (const batch of run.rows()) n += batch.length;
    return n;
  };

  it('names the columns of a streamed fragment with no rows', async () => {
    const run = executor.run({ fragments: [{ id: 'c', source: 'db', query: { sql: 'SELECT id, name FROM t WHERE id < 0' } }] });
    expect(await drain(run)).toBe(0);
    expect((await run.result).columns).toEqual(['id', 'name']);
  });

  it('names the columns of a limit of 0, as the eager run does (each input still names its columns)', async () => {
    const plan = {
      fragments: [
        { id: 'c', source: 'db', query: { sql: 'SELECT id, name FROM t' } },
        { id: 'k', source: 'mem', query: { table: 'k' } },
      ],
      merge: { op: 'limit', n: 0, input: { op: 'union', inputs: ['c', 'k'] } },
    } as const;
    const eager = await executor.execute(plan);
    expect(eager.columns).toEqual(['id', 'name', 'tag']);
    const run = executor.run(plan);
    expect(await drain(run)).toBe(0);
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.columns).toEqual(eager.columns);
  });

  it('names the columns through a streaming left join whose right side is empty', async () => {
    const run = executor.run({
      fragments: [
        { id: 'keys', source: 'mem', query: { table: 'k' } },
        { id: 'none', source: 'db', query: { sql: 'SELECT id, name FROM t WHERE id < 0' } },
      ],
      merge: { op: 'join', type: 'left', left: 'keys', right: 'none', on: [['id', 'id']] },
    });
    expect(await drain(run)).toBe(1);
    expect((await run.result).columns).toEqual(['id', 'tag', 'none.id', 'name']);
  });
});
