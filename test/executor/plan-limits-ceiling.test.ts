import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, type Executor } from '../../src/index.js';

/**
 * The executor's `rowLimits` are what its operator allows one fragment to fetch; a plan comes
 * from a caller who may be less trusted. Its `limits` tighten the bounds, never lift them.
 */
const t = Array.from({ length: 100 }, (_, i) => ({ id: i, s: 'x'.repeat(50) }));
const planWith = (limits?: { maxRows?: number; maxBytes?: number }) => ({
  ...(limits ? { limits } : {}),
  fragments: [{ id: 'f', source: 'mem', query: { table: 't' } }],
});

describe("a plan's limits cannot loosen the executor's rowLimits", () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  it('keeps the executor maxRows when the plan asks for more', async () => {
    executor = createExecutor({ sources: { mem: memorySource({ tables: { t } }) }, cache: false, rowLimits: { maxRows: 10 } });
    const result = await executor.execute(planWith({ maxRows: 1_000_000 }));
    expect(result.status).toBe('failed');
    expect(result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'f', message: expect.stringContaining('maxRows=10 ') })]);
    // The same through a prepared plan, and through run.rows().
    const prepared = executor.prepare(planWith({ maxRows: 1_000_000, maxBytes: 1 << 30 }));
    expect((await executor.execute(prepared)).errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', message: expect.stringContaining('maxRows=10 ') })]);
    const run = executor.run(planWith({ maxRows: 1_000_000 }));
    await expect((async () => { for await (const batch of run.rows()) void batch; })()).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
  });

  it('keeps the executor maxBytes when the plan asks for more', async () => {
    executor = createExecutor({ sources: { mem: memorySource({ tables: { t } }) }, cache: false, rowLimits: { maxBytes: 1000 } });
    const result = await executor.execute(planWith({ maxBytes: 1 << 30 }));
    expect(result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', message: expect.stringContaining('maxBytes=1000 ') })]);
  });

  it('lets a plan tighten either bound', async () => {
    executor = createExecutor({ sources: { mem: memorySource({ tables: { t } }) }, cache: false, rowLimits: { maxRows: 1000, maxBytes: 1 << 20 } });
    expect((await executor.execute(planWith())).rows).toHaveLength(100);
    expect((await executor.execute(planWith({ maxRows: 5 }))).errors).toEqual([expect.objectContaining({ message: expect.stringContaining('maxRows=5 ') })]);
    expect((await executor.execute(planWith({ maxBytes: 500 }))).errors).toEqual([expect.objectContaining({ message: expect.stringContaining('maxBytes=500 ') })]);
  });
});
