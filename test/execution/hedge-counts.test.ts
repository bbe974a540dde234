import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, createVirtualClock, type SourceExecutor, type VirtualClock } from '../../src/index.js';
import { tailSource } from '../support/tail-source.js';

const FRAGMENTS = 100;

async function drive(clock: VirtualClock, pending: Promise<unknown>): Promise<void> {
  let done = false;
  void pending.finally(() => (done = true));
  while (!done) await clock.advanceAsync(5);
}

describe('hedging shows in results and metrics (virtual clock)', () => {
  it("counts each extra call in its fragment's calls and in metrics().sources[name].hedges / hedgeWins", async () => {
    const clock = createVirtualClock();
    const source = tailSource(clock);
    const executor = createExecutor({ sources: { s: source }, clock, cache: false, concurrency: 1000, telemetry: false, hedge: { afterMs: 30 } });
    try {
      expect(executor.metrics().sources.s).toMatchObject({ hedges: 0, hedgeWins: 0 });
      const ids = Array.from({ length: FRAGMENTS }, (_, i) => `f${i}`);
      const run = executor.run({ fragments: ids.map((id, n) => ({ id, source: 's', query: { n } })), merge: { op: 'union', inputs: ids } });
      await drive(clock, run.result);
      const result = await run.result;
      expect(result.status).toBe('ok');

      // The oracle: the calls the source itself received, per fragment.
      const received = new Map<number, number>();
      for (const a of source.attempts) received.set(a.n, (received.get(a.n) ?? 0) + 1);
      const extra = source.attempts.length - FRAGMENTS;
      expect(extra).toBeGreaterThan(0);
      for (let n = 0; n < FRAGMENTS; n++) {
        expect(result.fragments[`f${n}`]).toMatchObject({ attempts: 1, calls: received.get(n) });
      }
      // A hedge wins when the call it hedged was the slow one and it was not slow itself.
      const wins = [...received.keys()].filter((n) => {
        const calls = source.attempts.filter((a) => a.n === n);
        return calls.length === 2 && calls[1]!.answered;
      }).length;
      expect(wins).toBeGreaterThan(0);
      expect(executor.metrics().sources.s).toMatchObject({ hedges: extra, hedgeWins: wins });
    } finally {
      await executor.close();
    }
  });

  it("counts a failed try's extra call too: both calls of try 1 fail, try 2 answers → 3 calls", async () => {
    const clock = createVirtualClock();
    const signals: AbortSignal[] = [];
    // Call 1 fails after 100 ms, call 2 (its hedge) at once; call 3 (the retry) answers.
    const source: SourceExecutor = {
      kind: 'flaky',
      querySchema: z.object({}),
      isReadOnly: () => true,
      execute: (_q, ctx) => {
        signals.push(ctx.signal);
        const n = signals.length;
        if (n === 2) return Promise.reject(Object.assign(new Error('hedge refused'), { retryable: true }));
        return new Promise((resolve, reject) => clock.setTimeout(() => (n === 1 ? reject(Object.assign(new Error('first failed'), { retryable: true })) : resolve([{ ok: n }])), n === 1 ? 100 : 10));
      },
    };
    const executor = createExecutor({ sources: { s: source }, clock, cache: false, circuitBreaker: false, retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1, jitter: 'none' }, hedge: { afterMs: 30, maxExtraRatio: 1 } });
    try {
      const run = executor.run({ fragments: [{ id: 'f', source: 's', query: {} }] });
      await drive(clock, run.result);
      const result = await run.result;
      expect(result.status).toBe('ok');
      expect(result.rows).toEqual([{ ok: 3 }]);
      expect(signals).toHaveLength(3);
      expect(result.fragments.f).toMatchObject({ attempts: 2, calls: 3 });
      expect(executor.metrics().sources.s).toMatchObject({ hedges: 1, hedgeWins: 0 });
    } finally {
      await executor.close();
    }
  });
});
