import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, type Executor } from '../../src/index.js';
import { estimateRowsBytes } from '../../src/data/bytes.js';

// 4 ids; 10 rows of ~300 bytes, 2 or 3 per id: a batch of one id is 2–3 rows, under ~1 KB.
const ids = [0, 1, 2, 3].map((id) => ({ id }));
const t = Array.from({ length: 10 }, (_, i) => ({ id: i % 4, s: 'x'.repeat(100) }));
const batchBytes = Math.max(...[0, 1, 2, 3].map((id) => estimateRowsBytes(t.filter((r) => r.id === id))));
const allBytes = estimateRowsBytes(t);

const planWith = (limits?: { maxRows?: number; maxBytes?: number }) => ({
  ...(limits ? { limits } : {}),
  fragments: [
    { id: 'ids', source: 'mem', query: { table: 'ids' } },
    { id: 'b', source: 'mem', dependsOn: ['ids'], batch: { param: 0, size: 1 }, query: { table: 't', where: { in: ['id', { $from: 'ids', column: 'id' }] } } },
  ],
  merge: 'b',
});

describe('row and byte limits bound a batched fragment, all its batches together', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  it('fails LIMIT_EXCEEDED when the batches together pass maxBytes, each under it', async () => {
    expect(batchBytes).toBeLessThan(1000);
    expect(allBytes).toBeGreaterThan(1000);
    executor = createExecutor({ sources: { mem: memorySource({ tables: { t, ids } }) }, cache: false });
    const result = await executor.execute(planWith({ maxBytes: 1000 }));
    expect(result.status).toBe('failed');
    expect(result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'b', message: expect.stringContaining('over its batches, more than maxBytes=1000') })]);
    // The executor's rowLimits bound it the same way when the plan sets none, sets only
    // the other bound, or a looser one (the smaller of the plan's and the executor's wins, bound by bound).
    const bounded = createExecutor({ sources: { mem: memorySource({ tables: { t, ids } }) }, cache: false, rowLimits: { maxBytes: 1000 } });
    try {
      expect((await bounded.execute(planWith())).errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'b' })]);
      expect((await bounded.execute(planWith({ maxRows: 100 }))).errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'b', message: expect.stringContaining('maxBytes=1000') })]);
      expect((await bounded.execute(planWith({ maxRows: 5 }))).errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'b', message: expect.stringContaining('maxRows=5') })]);
      // A plan may tighten the executor's bound, never lift it.
      expect((await bounded.execute(planWith({ maxBytes: 100_000 }))).errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'b', message: expect.stringContaining('maxBytes=1000') })]);
    } finally {
      await bounded.close();
    }
    // Within the bounds, every row arrives.
    expect((await executor.execute(planWith({ maxBytes: allBytes, maxRows: 10 }))).rows).toHaveLength(10);
  });

  it('bounds the sum while streaming to run.rows(): the fragment fails rather than every row reaching the reader', async () => {
    executor = createExecutor({ sources: { mem: memorySource({ tables: { t, ids } }) }, cache: false });
    for (const limits of [{ maxRows: 5 }, { maxBytes: 1000 }]) {
      const run = executor.run(planWith(limits));
      let read = 0;
      await expect(
        (async () => {
          for await (const batch of run.rows(100)) read += batch.length;
        })(),
      ).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
      const result = await run.result;
      expect(result.status).toBe('failed');
      expect(result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'b' })]);
      expect(read).toBeLessThan(10);
    }
    // Within the bounds, it streams every row.
    const run = executor.run(planWith({ maxRows: 10, maxBytes: allBytes }));
    let read = 0;
    for await (const batch of run.rows(100)) read += batch.length;
    expect(read).toBe(10);
    expect((await run.result).status).toBe('ok');
  });
});
