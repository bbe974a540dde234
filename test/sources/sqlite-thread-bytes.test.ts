import { describe, expect, it } from 'vitest';
import { sqliteSource, type ExecuteContext, type Row } from '../../src/index.js';
import { estimateRowsBytes } from '../../src/data/bytes.js';

// Ten rows of two columns both named `a` (as `SELECT o.*, c.*` names a shared `id` twice): a
// row keeps one `a`, so its estimate counts one column.
const SQL = `WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 10) SELECT 'x' AS a, 'y' AS a FROM c`;

describe('sqliteSource({ thread: true }) and maxBytes', () => {
  const ctx = (maxBytes: number): ExecuteContext => ({ params: [], signal: new AbortController().signal, fragmentId: 'f', limits: { maxBytes } });
  const call = (thread: boolean, maxBytes: number) => sqliteSource({ file: ':memory:', thread }).execute({ sql: SQL }, ctx(maxBytes)) as Promise<Row[]>;

  it('counts a row as the main thread does when the statement names a column twice: what one accepts, the other does', async () => {
    const rows = await call(false, 10_000);
    expect(rows).toHaveLength(10);
    expect(rows[0]).toEqual({ a: 'y' });
    const bound = estimateRowsBytes(rows); // just enough
    await expect(call(false, bound)).resolves.toHaveLength(10);
    // The thread read each name's value once per name, counting `a` twice, and refused rows
    // the main thread keeps: its count is a lower bound of the estimate again.
    await expect(call(true, bound)).resolves.toEqual(rows);
    await expect(call(true, bound - 1)).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
  });
});
