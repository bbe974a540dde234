import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, type Row, type SourceExecutor } from '../../src/index.js';

// quotas.maxRowsPerQuery / maxBytesPerQuery hold for run.rows() too: a streamed fragment's
// batches are counted as they pass, so the reader never gets more than the quota (the rows
// went straight to the reader, and the run counted none of them).

function generated(batches: number, size: number) {
  let produced = 0;
  const source: SourceExecutor<{ name: string }> = {
    kind: 'generated',
    querySchema: z.strictObject({ name: z.string() }),
    execute(query, ctx) {
      const make = (b: number): Row[] => Array.from({ length: size }, (_, i): Row => ({ src: query.name, n: b * size + i }));
      if (!ctx.stream) return Promise.resolve(Array.from({ length: batches }, (_, b) => make(b)).flat());
      return (async function* () {
        for (let b = 0; b < batches; b++) {
          produced++;
          yield make(b);
        }
      })();
    },
  };
  return { source, produced: () => produced };
}

async function drain(rows: AsyncIterable<Row[]>): Promise<{ got: number; error: unknown }> {
  let got = 0;
  try {
    for await (const batch of rows) got += batch.length;
  } catch (error) {
    return { got, error };
  }
  return { got, error: undefined };
}

const one = { id: 'one', fragments: [{ id: 'a', source: 'g', query: { name: 'a' } }] };
const two = { id: 'two', fragments: [{ id: 'a', source: 'g', query: { name: 'a' } }, { id: 'b', source: 'g', query: { name: 'b' } }], merge: { op: 'union', inputs: ['a', 'b'] } };

describe('per-query quotas on a streamed run', () => {
  it('stop a streamed fragment at maxRowsPerQuery with LIMIT_EXCEEDED', async () => {
    const g = generated(10, 10);
    const executor = createExecutor({ sources: { g: g.source }, quotas: { maxRowsPerQuery: 25 }, cache: false });
    const { got, error } = await drain(executor.run(one).rows(5));
    expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(got).toBeLessThanOrEqual(25);
    expect(g.produced()).toBeLessThan(10);
    await executor.close();
  });

  it('count every streamed fragment of the query together', async () => {
    const g = generated(6, 10);
    const executor = createExecutor({ sources: { g: g.source }, quotas: { maxRowsPerQuery: 100 }, cache: false });
    const { got, error } = await drain(executor.run(two).rows());
    expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(got).toBeLessThanOrEqual(100);
    await executor.close();
  });

  it('stop at maxBytesPerQuery too', async () => {
    const g = generated(100, 10);
    const executor = createExecutor({ sources: { g: g.source }, quotas: { maxBytesPerQuery: 2_000 }, cache: false });
    const { error } = await drain(executor.run(one).rows());
    expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(g.produced()).toBeLessThan(100);
    await executor.close();
  });

  it('let a streamed query within its quota through, its rows counted once', async () => {
    const g = generated(5, 10);
    const executor = createExecutor({ sources: { g: g.source }, quotas: { maxRowsPerQuery: 100 }, cache: false });
    expect(await drain(executor.run(two).rows())).toEqual({ got: 100, error: undefined });
    expect(await drain(executor.run(one).rows())).toEqual({ got: 50, error: undefined });
    await executor.close();
  });
});
