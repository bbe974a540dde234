import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, memorySource, type Row, type SourceExecutor } from '../../src/index.js';

/** Yields `batches` batches of 10 rows `{ n }` when streamed, all at once otherwise. */
function counting(batches: number): SourceExecutor<{ from: number }> {
  return {
    kind: 'counting',
    querySchema: z.strictObject({ from: z.number() }),
    execute(query, ctx) {
      const batch = (b: number): Row[] => Array.from({ length: 10 }, (_, i): Row => ({ n: query.from + b * 10 + i }));
      if (!ctx.stream) return Promise.resolve(Array.from({ length: batches }, (_, b) => batch(b)).flat());
      return (async function* () {
        for (let b = 0; b < batches; b++) {
          await new Promise((r) => setImmediate(r));
          yield batch(b);
        }
      })();
    },
  };
}

const broken: SourceExecutor = {
  kind: 'broken',
  querySchema: z.object({}),
  execute: () => Promise.reject(Object.assign(new Error('relation does not exist'), { retryable: false })),
};

describe('result.completeness', () => {
  it('is complete, with no fragment listed, when every fragment contributed all its rows', async () => {
    const executor = createExecutor({ sources: { ref: memorySource({ tables: { t: [{ a: 1 }] } }) } });
    const result = await executor.execute({ fragments: [{ id: 'f', source: 'ref', query: { table: 't' } }] });
    expect(result.completeness).toEqual({ complete: true, fragments: {} });
    await executor.close();
  });

  it('names a fragment that failed under "partial" and the ones it made skip', async () => {
    const executor = createExecutor({ sources: { ref: memorySource({ tables: { t: [{ a: 1 }] } }), broken }, cache: false, retry: { attempts: 1 } });
    const result = await executor.execute({
      errorPolicy: 'partial',
      fragments: [
        { id: 'ok', source: 'ref', query: { table: 't' } },
        { id: 'bad', source: 'broken', query: {} },
        { id: 'child', source: 'ref', query: { table: 't' }, dependsOn: ['bad'] },
      ],
      merge: { op: 'union', inputs: ['ok', 'bad', 'child'] },
    });
    expect(result.status).toBe('partial');
    expect(result.completeness.complete).toBe(false);
    expect(result.completeness.fragments).toEqual({
      bad: { status: 'failed', reason: 'failed', rowsMayBeMissing: true, attempts: 1, cached: false, usedMs: expect.any(Number) },
      child: { status: 'skipped', reason: 'skipped', rowsMayBeMissing: true, attempts: 0, cached: false, usedMs: 0 },
    });
    await executor.close();
  });

  it('names fragments a satisfied limit cut short, without calling the answer incomplete', async () => {
    const executor = createExecutor({ sources: { c: counting(100) }, cache: false });
    const run = executor.run({
      fragments: [
        { id: 'first', source: 'c', query: { from: 0 } },
        // Ready only after 'first': by then the limit has its rows, so it never runs.
        { id: 'second', source: 'c', query: { from: 1000 }, dependsOn: ['first'] },
      ],
      merge: { op: 'limit', n: 25, input: { op: 'union', inputs: ['first', 'second'] } },
    });
    const rows: Row[] = [];
    for await (const batch of run.rows()) rows.push(...batch);
    const result = await run.result;
    expect(rows).toHaveLength(25);
    expect(result.status).toBe('ok');
    expect(result.completeness.complete).toBe(true);
    expect(result.completeness.fragments.first).toMatchObject({ status: 'succeeded', reason: 'limit-stopped', rowsMayBeMissing: false });
    expect(result.completeness.fragments.second).toMatchObject({ status: 'succeeded', reason: 'limit-satisfied', rowsMayBeMissing: false, attempts: 0 });
    await executor.close();
  });

  for (const leave of ['break', 'throw'] as const) {
    it(`reports a consumer that leaves run.rows() early (${leave}) as consumer-left, rows maybe missing, not as a satisfied limit`, async () => {
      const executor = createExecutor({ sources: { c: counting(100) }, cache: false });
      const run = executor.run({
        fragments: [
          { id: 'first', source: 'c', query: { from: 0 } },
          // Ready only after 'first': by then the consumer has gone, so it never runs.
          { id: 'second', source: 'c', query: { from: 1000 }, dependsOn: ['first'] },
        ],
        merge: { op: 'union', inputs: ['first', 'second'] },
      });
      let read = 0;
      const consume = async (): Promise<void> => {
        for await (const batch of run.rows()) {
          read += batch.length;
          if (read < 30) continue;
          if (leave === 'throw') throw new Error('the consumer failed');
          break;
        }
      };
      if (leave === 'throw') await expect(consume()).rejects.toThrow('the consumer failed');
      else await consume();
      const result = await run.result;
      expect(read).toBe(30);
      expect(result.completeness.complete).toBe(false);
      expect(result.completeness.fragments).toEqual({
        // The rows it had streamed before the reader left, as its rowCount says.
        first: { status: 'succeeded', reason: 'consumer-left', rowsMayBeMissing: true, attempts: 1, cached: false, usedMs: expect.any(Number), rowsStreamed: result.fragments.first!.rowCount },
        second: { status: 'succeeded', reason: 'consumer-left', rowsMayBeMissing: true, attempts: 0, cached: false, usedMs: expect.any(Number) },
      });
      expect(result.fragments.first!.rowCount).toBeLessThan(1000);
      expect(result.fragments.first!.rowCount).toBeGreaterThanOrEqual(30);
      await executor.close();
    });
  }

  it('names the fragments a fail-fast stop cancelled', async () => {
    const hangs: SourceExecutor = { kind: 'hangs', querySchema: z.object({}), execute: () => new Promise(() => undefined) };
    const executor = createExecutor({ sources: { hangs, broken }, cache: false, retry: { attempts: 1 } });
    const result = await executor.execute({
      fragments: [
        { id: 'waits', source: 'hangs', query: {} },
        { id: 'bad', source: 'broken', query: {} },
      ],
      merge: { op: 'union', inputs: ['waits', 'bad'] },
    });
    expect(result.status).toBe('failed');
    expect(result.completeness.fragments.waits).toMatchObject({ status: 'cancelled', reason: 'cancelled', rowsMayBeMissing: true });
    expect(result.completeness.fragments.bad).toMatchObject({ status: 'failed', reason: 'failed' });
    await executor.close();
  });

  it('calls a ready fragment a fail-fast stop kept from starting cancelled, not skipped as if an upstream had failed', async () => {
    const hangs: SourceExecutor = { kind: 'hangs', querySchema: z.object({}), execute: () => new Promise(() => undefined) };
    const ref = memorySource({ tables: { t: [{ id: 1 }] } });
    const executor = createExecutor({ sources: { hangs, broken, ref }, cache: false, retry: { attempts: 1 } });
    try {
      // 'fails' fails while 'waits' still runs, so the query stops before level 1 starts:
      // 'next' waited only for its level ('ok' had answered), 'later' for 'next'.
      const result = await executor.execute({
        fragments: [
          { id: 'waits', source: 'hangs', query: {} },
          { id: 'ok', source: 'ref', query: { table: 't' } },
          { id: 'fails', source: 'broken', query: {} },
          { id: 'next', source: 'ref', query: { table: 't' }, dependsOn: ['ok'] },
          { id: 'later', source: 'ref', query: { table: 't' }, dependsOn: ['next'] },
          { id: 'below', source: 'ref', query: { table: 't' }, dependsOn: ['fails'] },
        ],
        merge: { op: 'union', inputs: ['waits', 'later', 'below'] },
      });
      expect(result.status).toBe('failed');
      expect(result.fragments.fails!.status).toBe('failed');
      // Everything it depends on had answered: only the stop kept it from running.
      expect(result.fragments.next!.status).toBe('cancelled');
      expect(result.completeness.fragments.next).toMatchObject({ status: 'cancelled', reason: 'cancelled', rowsMayBeMissing: true, attempts: 0 });
      // An upstream of theirs failed, or never ran.
      for (const id of ['below', 'later']) {
        expect(result.fragments[id]!.status).toBe('skipped');
        expect(result.completeness.fragments[id]).toMatchObject({ status: 'skipped', reason: 'skipped', rowsMayBeMissing: true, attempts: 0 });
      }
    } finally {
      await executor.close();
    }
  });
});
