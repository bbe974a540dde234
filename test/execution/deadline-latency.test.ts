import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, createVirtualClock, type Row, type SourceExecutor, type VirtualClock } from '../../src/index.js';

/**
 * A source's latency — what the budget arithmetic reserves for a fragment on it, and what a
 * retry is expected to take — is measured from when the fragment's first call went out, not
 * from when the fragment was queued: a crowded run's wait for a lane slot says nothing about
 * the source. Every call takes `ms` of virtual time (its query's); the budgets are kept.
 */
function timed(clock: VirtualClock, maxConcurrency?: number, failing: ReadonlySet<number> = new Set()) {
  const budgets: (number | undefined)[] = [];
  const source: SourceExecutor<{ ms: number }> = {
    kind: 'timed',
    querySchema: z.strictObject({ ms: z.number() }) as never,
    ...(maxConcurrency === undefined ? {} : { maxConcurrency }),
    execute(query, ctx) {
      budgets.push(ctx.budgetMs);
      const fail = failing.has(budgets.length);
      return new Promise<Row[]>((resolve, reject) =>
        clock.setTimeout(() => (fail ? reject(Object.assign(new Error('busy'), { retryable: true })) : resolve([{ ms: query.ms }])), query.ms),
      );
    },
  };
  return { source, budgets };
}

describe('source latencies leave the lane wait out (virtual clock)', () => {
  it('a crowded run does not skew the reserve the next run keeps for a fragment on that source', async () => {
    const clock = createVirtualClock();
    const up = timed(clock);
    // One call at a time: the crowded run's fifth fragment waits 400 ms for its slot.
    const narrow = timed(clock, 1);
    const executor = createExecutor({ sources: { up: up.source, narrow: narrow.source }, cache: false, clock });
    try {
      const crowded = executor.run({
        fragments: ['n1', 'n2', 'n3', 'n4', 'n5'].map((id) => ({ id, source: 'narrow', query: { ms: 100 } })),
        merge: { op: 'union', inputs: ['n1', 'n2', 'n3', 'n4', 'n5'] },
      });
      await clock.advanceAsync(500);
      const r1 = await crowded.result;
      expect(r1.status).toBe('ok');
      // Queued together, done 100 ms apart: the fifth spent 500 ms in the run, 100 ms in its call.
      expect(r1.fragments.n5!.durationMs).toBe(500);

      // 'narrow' answers in 100 ms: 'a' keeps 1,000 − 100 ms, 'b' gets all that is left.
      const chain = executor.run(
        {
          fragments: [
            { id: 'a', source: 'up', query: { ms: 10 } },
            { id: 'b', source: 'narrow', query: { ms: 100 }, dependsOn: ['a'] },
          ],
          merge: 'b',
        },
        { deadlineMs: 1_000 },
      );
      await clock.advanceAsync(110);
      const r2 = await chain.result;
      expect(r2.status).toBe('ok');
      expect(r2.fragments.a!.budgetMs).toBe(900);
      expect(up.budgets).toEqual([900]);
    } finally {
      await executor.close();
    }
  });

  it('after a crowded run, a retry that fits the call time is still made', async () => {
    const clock = createVirtualClock();
    // Call 6 (the later run's first) fails after 100 ms; the retry answers in 100 ms.
    const narrow = timed(clock, 1, new Set([6]));
    const executor = createExecutor({ sources: { narrow: narrow.source }, cache: false, clock, retry: { attempts: 2, initialDelayMs: 50, jitter: 'none' } });
    try {
      const crowded = executor.run({
        fragments: ['n1', 'n2', 'n3', 'n4', 'n5'].map((id) => ({ id, source: 'narrow', query: { ms: 100 } })),
        merge: { op: 'union', inputs: ['n1', 'n2', 'n3', 'n4', 'n5'] },
      });
      await clock.advanceAsync(500);
      expect((await crowded.result).status).toBe('ok');

      // At 100 ms, 300 ms are left: a 50 ms delay and a 100 ms call fit (a 323 ms "average" would not).
      const run = executor.run({ fragments: [{ id: 'f', source: 'narrow', query: { ms: 100 } }] }, { deadlineMs: 400 });
      await clock.advanceAsync(250);
      const result = await run.result;
      expect(result.status).toBe('ok');
      expect(result.fragments.f).toMatchObject({ attempts: 2, calls: 2, durationMs: 250 });
      expect(narrow.budgets.slice(5)).toEqual([400, 250]);
    } finally {
      await executor.close();
    }
  });
});

/** A chain whose first fragment's budget shows what the deadline reserves for a fragment on 'narrow' (a 100 ms call). */
async function reserveAfter(clock: VirtualClock, executor: ReturnType<typeof createExecutor>) {
  const chain = executor.run(
    {
      fragments: [
        { id: 'a', source: 'up', query: { ms: 10 } },
        { id: 'b', source: 'narrow', query: { ms: 100 }, dependsOn: ['a'] },
      ],
      merge: 'b',
    },
    { deadlineMs: 1_000 },
  );
  await clock.advanceAsync(110);
  const result = await chain.result;
  expect(result.status).toBe('ok');
  return result.fragments.a!.budgetMs;
}

describe('source latencies leave lane waits between batches, backoff and failed tries out (virtual clock)', () => {
  it('a batched fragment whose batches take turns in a one-slot lane counts one call, not five', async () => {
    const clock = createVirtualClock();
    const up = timed(clock);
    const budgets: (number | undefined)[] = [];
    // One call at a time, 100 ms each, whatever its bound ids.
    const narrow: SourceExecutor<{ ms: number; ids?: unknown }> = {
      kind: 'timed',
      querySchema: z.strictObject({ ms: z.number(), ids: z.unknown().optional() }) as never,
      maxConcurrency: 1,
      execute(query, ctx) {
        budgets.push(ctx.budgetMs);
        return new Promise<Row[]>((resolve) => clock.setTimeout(() => resolve([{ ms: query.ms }]), query.ms));
      },
    };
    const ids: SourceExecutor<Record<string, never>> = {
      kind: 'ids',
      querySchema: z.strictObject({}) as never,
      execute: () => Promise.resolve([1, 2, 3, 4, 5].map((id) => ({ id }))),
    };
    const executor = createExecutor({ sources: { up: up.source, narrow, ids }, cache: false, clock });
    try {
      const batched = executor.run({
        fragments: [
          { id: 'keys', source: 'ids', query: {} },
          { id: 'n', source: 'narrow', query: { ms: 100, ids: { $from: 'keys', column: 'id' } }, dependsOn: ['keys'], batch: { param: 0, size: 1 } },
        ],
        merge: 'n',
      } as never);
      await clock.advanceAsync(500);
      const r1 = await batched.result;
      expect(r1.status).toBe('ok');
      expect(r1.fragments.n).toMatchObject({ calls: 5, durationMs: 500 });
      // 'narrow' answers a call in 100 ms: 'a' keeps 1,000 − 100 ms (a 500 ms "call" would leave it 500).
      expect(await reserveAfter(clock, executor)).toBe(900);
    } finally {
      await executor.close();
    }
  });

  it('a fragment that was retried after a backoff counts its answering call, not the failed try and the wait', async () => {
    const clock = createVirtualClock();
    const up = timed(clock);
    // Its first call fails after 100 ms; the retry comes 400 ms later and answers in 100 ms.
    const narrow = timed(clock, 1, new Set([1]));
    const executor = createExecutor({ sources: { up: up.source, narrow: narrow.source }, cache: false, clock, retry: { attempts: 2, initialDelayMs: 400, jitter: 'none' } });
    try {
      const flaky = executor.run({ fragments: [{ id: 'f', source: 'narrow', query: { ms: 100 } }] });
      await clock.advanceAsync(600);
      const r1 = await flaky.result;
      expect(r1.status).toBe('ok');
      expect(r1.fragments.f).toMatchObject({ attempts: 2, durationMs: 600 });
      expect(await reserveAfter(clock, executor)).toBe(900);
    } finally {
      await executor.close();
    }
  });

  it('a streamed fragment read by a slow consumer does not count the consumer’s pace as the source’s', async () => {
    const clock = createVirtualClock();
    const up = timed(clock);
    // Two batches, each 50 ms after it is asked for.
    const narrow: SourceExecutor<{ ms: number }> = {
      kind: 'timed',
      querySchema: z.strictObject({ ms: z.number() }) as never,
      maxConcurrency: 1,
      execute(query) {
        if (query.ms !== 50) return new Promise<Row[]>((resolve) => clock.setTimeout(() => resolve([{ ms: query.ms }]), query.ms));
        return (async function* () {
          for (const i of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) {
            await new Promise<void>((resolve) => clock.setTimeout(() => resolve(), 50));
            yield [{ i }];
          }
        })();
      },
    };
    const executor = createExecutor({ sources: { up: up.source, narrow }, cache: false, clock });
    try {
      // A plain 100 ms call first: the source's latency is known.
      const plain = executor.run({ fragments: [{ id: 'p', source: 'narrow', query: { ms: 100 } }] });
      await clock.advanceAsync(100);
      expect((await plain.result).status).toBe('ok');
      const streamed = executor.run({ fragments: [{ id: 's', source: 'narrow', query: { ms: 50 } }] });
      // The reader takes 2 s over each batch: the source's last batch comes after 8 s.
      const batches = streamed.rows()[Symbol.asyncIterator]();
      let rows = 0;
      for (;;) {
        const next = batches.next();
        await clock.advanceAsync(2_000);
        const { value, done } = await next;
        if (done) break;
        rows += value.length;
      }
      expect(rows).toBe(10);
      expect((await streamed.result).status).toBe('ok');
      // Nothing of the reader's pace is taken for the source's.
      expect(await reserveAfter(clock, executor)).toBe(900);
    } finally {
      await executor.close();
    }
  });
});
