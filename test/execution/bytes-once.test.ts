import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { createExecutor, memorySource, plan, from, type SourceExecutor } from '../../src/index.js';
import { callLimits } from '../../src/sources/call-limits.js';
import type { Row } from '../../src/data/row.js';

/**
 * Under a byte bound every row's bytes are estimated once: by its connector as it fetches
 * (`callLimits`), whose count the executor then adds up over a batched fragment's batches,
 * streamed or not — not estimated a second time for the fragment's sum.
 */
interface Reads {
  n: number;
}

/** A row whose one column counts how often it is read (the estimate reads each value once). */
function countingRow(id: number, reads: Reads): Row {
  const row: Row = {};
  Object.defineProperty(row, 'v', { enumerable: true, get: () => (reads.n++, `value ${id}`) });
  return row;
}

/** A connector that counts its rows against its call's bounds, as the built-in ones do. */
function countingSource(reads: Reads, counts: boolean): SourceExecutor<{ params: unknown[] }> {
  return {
    kind: 'counting',
    querySchema: z.strictObject({ params: z.array(z.unknown()) }),
    execute: (_query, ctx) => {
      const rows = (ctx.params[0] as number[]).map((id) => countingRow(id, reads));
      if (counts) {
        const bounds = callLimits(ctx, {}, 'counting');
        for (const row of rows) bounds.add(row);
      }
      return Promise.resolve(rows);
    },
  };
}

async function readsOf(counts: boolean, stream: boolean): Promise<number> {
  const reads = { n: 0 };
  const executor = createExecutor({
    sources: { src: countingSource(reads, counts), mem: memorySource({ tables: { ids: Array.from({ length: 40 }, (_, i) => ({ id: i })) } }) },
    cache: false,
    rowLimits: { maxBytes: 1_000_000 },
  });
  try {
    const p = plan('once')
      .fragment('ids', 'mem', { table: 'ids' })
      .fragment('f', 'src', { params: [from('ids', 'id')] }, { dependsOn: ['ids'], batch: { param: 0, size: 10 } })
      .merge('f')
      .build();
    let rows = 0;
    if (stream) for await (const batch of executor.run(p).rows()) rows += batch.length;
    else rows = (await executor.execute(p)).rows.length;
    expect(rows).toBe(40);
    return reads.n;
  } finally {
    await executor.close();
  }
}

describe("a batched fragment's byte bound", () => {
  it("estimates each row once when its connector counts it (the fragment adds up the calls' counts)", async () => {
    expect(await readsOf(true, false)).toBe(40);
  });

  it('estimates each row once when streamed batch by batch to run.rows()', async () => {
    expect(await readsOf(true, true)).toBe(40);
  });

  it("estimates each row once, in the executor, when its connector does not count", async () => {
    expect(await readsOf(false, false)).toBe(40);
  });
});
