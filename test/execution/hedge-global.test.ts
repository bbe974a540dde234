import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, createVirtualClock, type SourceExecutor } from '../../src/index.js';

describe('hedged requests and the global concurrency lane (virtual clock)', () => {
  it('an extra call needs a free global slot too: in-flight calls never pass `concurrency`', async () => {
    const clock = createVirtualClock();
    let inflight = 0;
    let peak = 0;
    let calls = 0;
    // Answers after 100 ms; an aborted call stops at once.
    const slow: SourceExecutor<{ n: number }> = {
      kind: 'slow',
      querySchema: z.object({ n: z.number() }),
      execute: (query, ctx) => {
        calls++;
        peak = Math.max(peak, ++inflight);
        return new Promise((resolve, reject) => {
          const timer = clock.setTimeout(() => {
            inflight--;
            resolve([{ n: query.n }]);
          }, 100);
          ctx.signal.addEventListener('abort', () => {
            clock.clearTimeout(timer);
            inflight--;
            reject(ctx.signal.reason as Error);
          });
        });
      },
    };
    const executor = createExecutor({ sources: { slow }, clock, cache: false, concurrency: 2, hedge: { afterMs: 10, maxExtraRatio: 1 }, telemetry: false });
    try {
      const runs = [0, 1].map((n) => executor.run({ fragments: [{ id: 'f', source: 'slow', query: { n } }] }));
      await clock.advanceAsync(50);
      expect(peak).toBe(2);
      expect(executor.metrics().lanes.global.running).toBeLessThanOrEqual(2);
      await clock.advanceAsync(100);
      const results = await Promise.all(runs.map((r) => r.result));
      expect(results.map((r) => r.status)).toEqual(['ok', 'ok']);
      expect(calls).toBe(2);
      expect(results.map((r) => r.fragments.f!.calls)).toEqual([1, 1]);
      expect(executor.metrics().sources.slow!.hedges).toBe(0);
    } finally {
      await executor.close();
    }
  });

  it('still hedges when the global lane has a free slot', async () => {
    const clock = createVirtualClock();
    let calls = 0;
    // The first call hangs until aborted; the hedge answers at once.
    const tail: SourceExecutor<{ n: number }> = {
      kind: 'tail',
      querySchema: z.object({ n: z.number() }),
      execute: (query, ctx) =>
        ++calls === 1 ? new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error))) : Promise.resolve([{ n: query.n }]),
    };
    const executor = createExecutor({ sources: { tail }, clock, cache: false, concurrency: 2, hedge: { afterMs: 10, maxExtraRatio: 1 }, telemetry: false });
    try {
      const run = executor.run({ fragments: [{ id: 'f', source: 'tail', query: { n: 1 } }] });
      await clock.advanceAsync(10);
      const result = await run.result;
      expect(result.status).toBe('ok');
      expect(result.fragments.f!.calls).toBe(2);
      expect(executor.metrics().lanes.global.running).toBe(0);
      expect(executor.metrics().sources.tail!).toMatchObject({ hedges: 1, hedgeWins: 1 });
    } finally {
      await executor.close();
    }
  });
});
