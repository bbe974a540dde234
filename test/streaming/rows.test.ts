import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, memorySource, type Executor, type Plan, type Row, type SourceExecutor } from '../../src/index.js';

interface Generated {
  source: SourceExecutor;
  /** Batches the source has produced so far. */
  produced(): number;
  finished(): boolean;
  aborted(): boolean;
}

/** A source that yields `batches` batches of `size` rows, pausing `pauseMs` between them. */
function generated(batches: number, size: number, pauseMs = 0): Generated {
  let produced = 0;
  let finished = false;
  let aborted = false;
  const source: SourceExecutor<{ name: string }> = {
    kind: 'generated',
    querySchema: z.strictObject({ name: z.string() }),
    execute(query, ctx) {
      ctx.signal.addEventListener('abort', () => (aborted = true), { once: true });
      const make = (b: number): Row[] => Array.from({ length: size }, (_, i): Row => ({ src: query.name, n: b * size + i }));
      if (!ctx.stream) return Promise.resolve(Array.from({ length: batches }, (_, b) => make(b)).flat());
      return (async function* () {
        for (let b = 0; b < batches; b++) {
          if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
          produced++;
          yield make(b);
        }
        finished = true;
      })();
    },
  };
  return { source, produced: () => produced, finished: () => finished, aborted: () => aborted };
}

describe('run.rows() streaming', () => {
  it('yields the first batch of a 1M-row union before the slower source finishes', async () => {
    const fast = generated(500, 1000);
    const slow = generated(500, 1000, 1);
    const executor = createExecutor({ sources: { fast: fast.source, slow: slow.source }, cache: false });
    const run = executor.run({
      fragments: [
        { id: 'a', source: 'fast', query: { name: 'a' } },
        { id: 'b', source: 'slow', query: { name: 'b' } },
      ],
      merge: { op: 'union', inputs: ['a', 'b'] },
    });
    let total = 0;
    let firstSeenBeforeSlowDone: boolean | undefined;
    let maxBuffered = 0;
    const stream = run.rows(1000);
    expect(fast.produced() + slow.produced()).toBe(0);
    for await (const batch of stream) {
      firstSeenBeforeSlowDone ??= !slow.finished();
      total += batch.length;
      maxBuffered = Math.max(maxBuffered, fast.produced() + slow.produced() - total / 1000);
    }
    expect(firstSeenBeforeSlowDone).toBe(true);
    expect(total).toBe(1_000_000);
    // Back-pressure: the producers never ran far ahead of the consumer.
    expect(maxBuffered).toBeLessThan(20);
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.fragments.a!.rowCount).toBe(500_000);
    expect(result.rows).toEqual([]);
    await executor.close();
  });

  it('stops the sources once a limit is satisfied, and the run still succeeds', async () => {
    const big = generated(1000, 100, 1);
    const executor = createExecutor({ sources: { big: big.source }, cache: false });
    const run = executor.run({
      fragments: [{ id: 'a', source: 'big', query: { name: 'a' } }],
      merge: { op: 'limit', n: 250, input: { op: 'filter', input: 'a', where: { ge: ['n', 10] } } },
    });
    const rows: Row[] = [];
    for await (const batch of run.rows()) rows.push(...batch);
    expect(rows.map((r) => r.n)).toEqual(Array.from({ length: 250 }, (_, i) => i + 10));
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(big.produced()).toBeLessThan(10);
    expect(big.aborted()).toBe(true);
    await executor.close();
  });

  it('streams the probe side of a join against a materialized build side', async () => {
    const orders = generated(20, 50);
    const executor = createExecutor({
      sources: { orders: orders.source, ref: memorySource({ tables: { kinds: [{ k: 0, label: 'even' }, { k: 1, label: 'odd' }] } }) },
      cache: false,
    });
    const plan = {
      fragments: [
        { id: 'o', source: 'orders', query: { name: 'o' } },
        { id: 'kinds', source: 'ref', query: { table: 'kinds' } },
      ],
      merge: { op: 'project', columns: ['n', 'label'], input: { op: 'join', type: 'inner', left: 'o', right: 'kinds', on: [['n', 'k']] } },
    } as const;
    const streamed: Row[] = [];
    for await (const batch of executor.run(structuredClone(plan) as never).rows()) streamed.push(...batch);
    const materialized = await executor.execute(structuredClone(plan) as never);
    expect(streamed).toEqual(materialized.rows);
    expect(streamed).toEqual([{ n: 0, label: 'even' }, { n: 1, label: 'odd' }]);
    await executor.close();
  });

  it("bypasses the result cache for a streamed fragment (no read, no write), while a join's materialized right side uses it", async () => {
    const executor = createExecutor({ sources: { ref: memorySource({ tables: { o: [{ n: 0 }, { n: 1 }, { n: 2 }], p: [{ n: 3 }], kinds: [{ k: 0, label: 'even' }, { k: 1, label: 'odd' }] } }) } });
    const fragments = [
      { id: 'o', source: 'ref', query: { table: 'o' } },
      { id: 'p', source: 'ref', query: { table: 'p' } },
      { id: 'kinds', source: 'ref', query: { table: 'kinds' } },
    ];
    const union: Plan = { id: 'cached-union', fragments: fragments.slice(0, 2), merge: { op: 'union', inputs: ['o', 'p'] } };
    const join: Plan = { id: 'cached-join', fragments, merge: { op: 'join', type: 'left', left: { op: 'union', inputs: ['o', 'p'] }, right: 'kinds', on: [['n', 'k']] } };
    const streamed = async (plan: Plan) => {
      const run = executor.run(structuredClone(plan));
      const rows: Row[] = [];
      for await (const batch of run.rows()) rows.push(...batch);
      return { rows, result: await run.result };
    };
    for (const plan of [union, join]) {
      const whole = await executor.execute(structuredClone(plan));
      expect(Object.values((await executor.execute(structuredClone(plan))).fragments).every((f) => f.cached)).toBe(true);
      const { rows, result } = await streamed(plan);
      const byN = (a: Row, b: Row) => Number(a.n) - Number(b.n);
      expect(rows.sort(byN)).toEqual(whole.rows.sort(byN));
      if (plan === union) expect([result.fragments.o!.cached, result.fragments.p!.cached, result.stats.cacheHits]).toEqual([false, false, 0]);
      else expect(result.fragments.kinds!.cached).toBe(true);
    }
    await executor.close();
  });

  it('falls back to the materialized result when the tree must see every row first', async () => {
    const executor = createExecutor({ sources: { ref: memorySource({ tables: { t: [{ x: 2 }, { x: 1 }, { x: 3 }] } }) } });
    const run = executor.run({ fragments: [{ id: 't', source: 'ref', query: { table: 't' } }], merge: { op: 'sort', input: 't', by: [{ column: 'x' }] } });
    const rows: Row[] = [];
    for await (const batch of run.rows(2)) rows.push(...batch);
    expect(rows).toEqual([{ x: 1 }, { x: 2 }, { x: 3 }]);
    expect((await run.result).rows).toEqual(rows);
    await executor.close();
  });

  it('throws the fragment error from the iterator when a streaming run fails', async () => {
    const failing: SourceExecutor = {
      kind: 'failing',
      querySchema: z.object({}),
      execute: () =>
        (async function* () {
          yield [{ a: 1 }];
          throw Object.assign(new Error('connection reset mid-stream'), { code: 'ECONNRESET' });
        })(),
    };
    const executor = createExecutor({ sources: { f: failing }, cache: false });
    const run = executor.run({ fragments: [{ id: 'x', source: 'f', query: {} }] });
    const seen: Row[] = [];
    await expect(async () => {
      for await (const batch of run.rows()) seen.push(...batch);
    }).rejects.toMatchObject({ name: 'FragmentError', fragmentId: 'x' });
    expect(seen).toEqual([{ a: 1 }]);
    // A stream that already handed rows on is not retried: that would duplicate them.
    expect((await run.result).fragments.x!.attempts).toBe(1);
    await executor.close();
  });

  it('has one reader: a second rows() on a streamed run, at once or after the first, throws instead of hanging or reading nothing', async () => {
    const gen = generated(5, 100, 1);
    const executor = createExecutor({ sources: { g: gen.source }, cache: false });
    try {
      const run = executor.run({ fragments: [{ id: 'a', source: 'g', query: { name: 'a' } }] });
      const first = run.rows(50);
      const second = run.rows(50);
      await expect(second.next()).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('run.rows() is already being read') });
      let n = 0;
      for await (const batch of first) n += batch.length;
      expect(n).toBe(500);
      expect((await run.result).fragments.a!.rowCount).toBe(500);
      await expect(run.rows().next()).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      // A run that was not streamed keeps its rows: rows() reads them as often as asked.
      const whole = executor.run({ fragments: [{ id: 'a', source: 'g', query: { name: 'a' } }] });
      const result = await whole.result;
      for (let i = 0; i < 2; i++) {
        const again: Row[] = [];
        for await (const batch of whole.rows(200)) again.push(...batch);
        expect(again).toEqual(result.rows);
      }
    } finally {
      await executor.close();
    }
  });

  describe('a join whose right side is not ready when its probe side starts', () => {
    const sortRows = (rows: Row[]): Row[] => [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    const readAll = async (rows: AsyncIterable<Row[]>): Promise<Row[]> => {
      const out: Row[] = [];
      for await (const batch of rows) out.push(...batch);
      return out;
    };
    const timeLimit = <T>(p: Promise<T>): Promise<T | 'hung'> => Promise.race([p, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 5000))]);
    /** Runs `plan` whole, then streamed through `rows(batchSize)`: the streamed run ends, ok, with the same rows (in any order). */
    const expectStreamedAsWhole = async (executor: Executor, plan: Plan, batchSize: number, rowCount: number): Promise<void> => {
      try {
        const whole = await executor.execute(plan);
        expect(whole.rows).toHaveLength(rowCount);
        const run = executor.run(plan);
        const streamed = await timeLimit(readAll(run.rows(batchSize)));
        expect(streamed).not.toBe('hung');
        expect(sortRows(streamed as Row[])).toEqual(sortRows(whole.rows));
        expect((await run.result).status).toBe('ok');
      } finally {
        await executor.close();
      }
    };

    it('streams a bind join (the right side binds the left side’s keys) instead of waiting on itself forever', async () => {
      const executor = createExecutor({
        sources: { m: memorySource({ tables: { c: [{ id: 1 }, { id: 2 }, { id: 3 }], o: [{ cid: 1, total: 5 }, { cid: 2, total: 7 }, { cid: 2, total: 9 }, { cid: 4, total: 1 }] } }) },
        cache: false,
      });
      const plan = {
        fragments: [
          { id: 'customers', source: 'm', query: { table: 'c' } },
          { id: 'orders', source: 'm', dependsOn: ['customers'], query: { table: 'o', where: { in: ['cid', { $from: 'customers', column: 'id' }] } } },
        ],
        merge: { op: 'join' as const, type: 'inner' as const, left: 'customers', right: 'orders', on: [['id', 'cid']] as [string, string][] },
      };
      await expectStreamedAsWhole(executor, plan, 1000, 3);
    });

    it.each([
      ['a source that runs one call at a time', { maxConcurrency: 1 }, 16],
      ['an executor that runs one call at a time', {}, 1],
    ])('streams a join through %s (the probe side does not hold the only slot while the right side waits for it)', async (_, sourceOptions, concurrency) => {
      const left = generated(5, 10, 1);
      const source = { ...left.source, ...sourceOptions };
      const executor = createExecutor({ sources: { g: source }, concurrency, cache: false });
      const plan = {
        fragments: [
          { id: 'a', source: 'g', query: { name: 'a' } },
          { id: 'b', source: 'g', query: { name: 'b' } },
        ],
        merge: { op: 'project' as const, input: { op: 'join' as const, type: 'inner' as const, left: 'a', right: 'b', on: [['n', 'n']] as [string, string][] }, columns: ['n', 'src'] },
      };
      await expectStreamedAsWhole(executor, plan, 7, 50);
    });
  });
});
