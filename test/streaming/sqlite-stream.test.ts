import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createExecutor, sqliteSource, type Row } from '../../src/index.js';

describe('streaming from SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-sqlite-stream-'));
  const file = join(dir, 'big.db');
  const db = new Database(file);
  db.exec('CREATE TABLE t (n INTEGER PRIMARY KEY, parity TEXT)');
  const insert = db.prepare('INSERT INTO t VALUES (?, ?)');
  db.transaction(() => {
    for (let n = 1; n <= 5000; n++) insert.run(n, n % 2 ? 'odd' : 'even');
  })();
  db.close();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const plan = () => ({
    fragments: [
      { id: 'odd', source: 'lite', query: { sql: 'SELECT n FROM t WHERE parity = ? ORDER BY n', params: ['odd'] } },
      { id: 'even', source: 'lite', query: { sql: 'SELECT n FROM t WHERE parity = ? ORDER BY n', params: ['even'] } },
    ],
    merge: { op: 'union' as const, inputs: ['odd', 'even'] },
  });

  it('streams two statements on one connection in turns, in batches, equal to the materialized rows', async () => {
    const executor = createExecutor({ sources: { lite: sqliteSource({ file, readonly: true }) }, cache: false });
    const batches: Row[][] = [];
    for await (const batch of executor.run(plan()).rows()) batches.push(batch);
    expect(batches.length).toBeGreaterThanOrEqual(5);
    const streamed = batches.flat().map((r) => r.n as number).sort((a, b) => a - b);
    const materialized = (await executor.execute(plan())).rows.map((r) => r.n as number).sort((a, b) => a - b);
    expect(streamed).toEqual(materialized);
    expect(streamed).toHaveLength(5000);
    await executor.close();
  });

  it('stops reading once a limit is satisfied', async () => {
    const executor = createExecutor({ sources: { lite: sqliteSource({ file, readonly: true }) }, cache: false });
    const run = executor.run({ fragments: [plan().fragments[0]!], merge: { op: 'limit', n: 3, input: 'odd' } });
    const rows: Row[] = [];
    for await (const batch of run.rows()) rows.push(...batch);
    expect(rows).toEqual([{ n: 1 }, { n: 3 }, { n: 5 }]);
    const result = await run.result;
    expect(result.fragments.odd!.rowCount).toBe(1000);
    await executor.close();
  });
});
