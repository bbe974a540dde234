import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, type Executor, type ExecutorOptions, type Row, type SourceExecutor } from '../../src/index.js';
import { DEFAULT_FRAGMENT_MAX_BYTES } from '../../src/data/limits.js';

/**
 * A custom source is told its fragment's bounds (`ctx.limits`) but may not enforce them: the
 * executor counts what its lone call returns — an array when it answers, an async iterable
 * batch by batch — against them, the default 64 MiB byte bound included, so a custom
 * source cannot bring a fragment past its bounds into the process unnoticed.
 */
const MiB = 2 ** 20;
// 400 rows of 100,000 characters: ~80 MB by the estimate, past the 64 MiB default.
const wide: Row[] = Array.from({ length: 400 }, (_, i) => ({ id: i, s: 'x'.repeat(100_000) }));
const rowsOf = (n: number, width: number): Row[] => Array.from({ length: n }, (_, i) => ({ id: i, s: 'y'.repeat(width) }));
const one = { fragments: [{ id: 'big', source: 'custom', query: {} }], merge: 'big' };

/** A source that returns `answer()` and enforces nothing. */
function custom(answer: () => Row[] | AsyncIterable<Row[]>, limits?: SourceExecutor['limits']): SourceExecutor {
  return { kind: 'custom', querySchema: z.object({}), execute: () => {
      const out = answer();
      return Array.isArray(out) ? Promise.resolve(out) : out;
    }, ...(limits ? { limits } : {}) };
}

describe("a custom source's lone call is counted against its fragment's bounds", () => {
  const executors: Executor[] = [];
  const make = (source: SourceExecutor, options: Partial<ExecutorOptions> = {}): Executor => {
    const e = createExecutor({ sources: { custom: source }, cache: false, retry: { attempts: 1 }, ...options });
    executors.push(e);
    return e;
  };
  afterEach(async () => {
    for (const e of executors.splice(0)) await e.close();
  });

  const refused = (bound: number) => [expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'big', message: expect.stringContaining(`more than maxBytes=${bound}`) })];

  it('fails an array past the default 64 MiB with LIMIT_EXCEEDED at fragments.<id>; Infinity lifts it', async () => {
    const result = await make(custom(() => wide)).execute(one);
    expect(result.status).toBe('failed');
    expect(result.rows).toEqual([]);
    expect(result.errors).toEqual(refused(DEFAULT_FRAGMENT_MAX_BYTES));
    expect(result.errors[0]!.issues).toEqual([expect.objectContaining({ path: 'fragments.big' })]);
    expect((await make(custom(() => wide, { maxBytes: Infinity })).execute(one)).rows).toHaveLength(400);
    expect((await make(custom(() => wide), { rowLimits: { maxBytes: null } }).execute(one)).rows).toHaveLength(400);
  });

  it("holds an array to the source's own limits and the plan's", async () => {
    // 100 rows of 100 characters: ~25 KB by the estimate.
    const rows = rowsOf(100, 100);
    expect((await make(custom(() => rows, { maxBytes: 4096 })).execute(one)).errors).toEqual(refused(4096));
    expect((await make(custom(() => rows)).execute({ ...one, limits: { maxBytes: 8192 } })).errors).toEqual(refused(8192));
    expect((await make(custom(() => rows, { maxBytes: MiB })).execute(one)).rows).toHaveLength(100);
  });

  it('counts an async iterable batch by batch: it stops pulling at the batch that passes the bound', async () => {
    let pulled = 0;
    let closed = false;
    async function* batches(): AsyncIterable<Row[]> {
      try {
        for (let b = 0; b < 20; b++) {
          pulled++;
          yield rowsOf(10, 100); // ~2.5 KB each
        }
      } finally {
        closed = true;
      }
    }
    const e = make(custom(() => batches(), { maxBytes: 8192 }));
    expect((await e.execute(one)).errors).toEqual(refused(8192));
    expect(pulled).toBeLessThan(5);
    expect(closed).toBe(true);
    // Streamed to run.rows(): the batch that passes the bound never reaches the reader.
    pulled = 0;
    const run = e.run(one);
    const read: Row[] = [];
    const reading = (async () => {
      for await (const batch of run.rows()) read.push(...batch);
    })();
    await expect(reading).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect((await run.result).errors).toEqual(refused(8192));
    expect(pulled).toBeLessThan(5);
    expect(read.length).toBeLessThan(40);
  });
});
