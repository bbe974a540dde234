import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, createVirtualClock, type Row, type SourceExecutor, type VirtualClock } from '../../src/index.js';

/** Each call takes `ms` of virtual time unless its signal fires first; every call is logged with its signal. */
function timed(clock: VirtualClock) {
  const calls: { id: number; signal: AbortSignal }[] = [];
  const source: SourceExecutor<{ ms: number; id: number }> = {
    kind: 'timed',
    querySchema: z.strictObject({ ms: z.number(), id: z.number() }),
    execute(query, ctx) {
      calls.push({ id: query.id, signal: ctx.signal });
      return new Promise<Row[]>((resolve, reject) => {
        const timer = clock.setTimeout(() => resolve([{ id: query.id }]), query.ms);
        ctx.signal.addEventListener('abort', () => {
          clock.clearTimeout(timer);
          reject(ctx.signal.reason as Error);
        });
      });
    },
  };
  return { source, calls };
}

async function settle<T>(clock: VirtualClock, result: Promise<T>): Promise<T> {
  let done = false;
  void result.finally(() => (done = true)).catch(() => undefined);
  for (let i = 0; i < 1000 && !done; i++) await clock.advanceAsync(10);
  return result;
}

describe('a fragment that fails at its own deadline or budget', () => {
  it('never calls its source once failed: a call still waiting for a slot is withdrawn and its place in the lane given back', async () => {
    const clock = createVirtualClock();
    const s = timed(clock);
    const executor = createExecutor({ sources: { s: s.source }, clock, cache: false, retry: { attempts: 1 }, concurrency: 1 });
    try {
      const result = await settle(
        clock,
        executor.execute({
          errorPolicy: 'partial',
          fragments: [
            { id: 'a', source: 's', query: { ms: 100, id: 1 } },
            // Waits behind "a" for the one slot; its 50 ms deadline passes first.
            { id: 'b', source: 's', query: { ms: 10, id: 2 }, deadlineMs: 50 },
          ],
          merge: { op: 'union', inputs: ['a', 'b'] },
        }),
      );
      expect(result.status).toBe('partial');
      expect(result.errors).toEqual([expect.objectContaining({ code: 'TIMEOUT', fragmentId: 'b' })]);
      await clock.advanceAsync(1000);
      expect(s.calls.map((c) => c.id)).toEqual([1]);
      expect(executor.metrics().lanes.global).toMatchObject({ running: 0, queued: 0 });
    } finally {
      await executor.close();
    }
  });

  it('aborts its running call when its deadline passes, and the slot is free for the next run', async () => {
    const clock = createVirtualClock();
    const s = timed(clock);
    const executor = createExecutor({ sources: { s: s.source }, clock, cache: false, retry: { attempts: 1 }, concurrency: 1 });
    try {
      const result = await settle(clock, executor.execute({ fragments: [{ id: 'b', source: 's', query: { ms: 10_000, id: 1 }, deadlineMs: 50 }] }));
      expect(result.errors).toEqual([expect.objectContaining({ code: 'TIMEOUT', fragmentId: 'b' })]);
      expect(s.calls[0]!.signal.aborted).toBe(true);
      expect(executor.metrics().lanes.global).toMatchObject({ running: 0, queued: 0 });
      // The next run gets the slot at once (it would otherwise wait for the abandoned call's 10 s).
      const next = await settle(clock, executor.execute({ fragments: [{ id: 'c', source: 's', query: { ms: 10, id: 2 }, deadlineMs: 50 }] }));
      expect(next.status).toBe('ok');
    } finally {
      await executor.close();
    }
  });

  it('under a query deadline, fragments out of budget do not leave calls queued for later runs of the plan', async () => {
    const clock = createVirtualClock();
    const s = timed(clock);
    const executor = createExecutor({ sources: { s: s.source }, clock, cache: false, retry: { attempts: 1 }, concurrency: 4 });
    const n = 200;
    const fragments = Array.from({ length: n }, (_, i) => ({ id: `f${i}`, source: 's', query: { ms: 10, id: i }, ...(i >= n / 2 ? { dependsOn: [`f${i - n / 2}`] } : {}) }));
    const prepared = executor.prepare({ errorPolicy: 'partial', fragments, merge: { op: 'union', inputs: fragments.map((f) => f.id) } });
    try {
      for (let run = 0; run < 3; run++) {
        const result = await settle(clock, executor.execute(prepared, { deadlineMs: 100 }));
        expect(result.status).toBe('partial');
        // Each run does useful work: its fragments are not stuck behind the last run's leftovers.
        expect(Object.values(result.fragments).filter((f) => f.status === 'succeeded').length).toBeGreaterThan(20);
        expect(executor.metrics().lanes.global).toMatchObject({ running: 0, queued: 0 });
      }
    } finally {
      await executor.close();
    }
  });
});
