import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, createVirtualClock, type SourceExecutor } from '../../src/index.js';

describe('circuit breaker and queued calls', () => {
  it('fails calls that were waiting for a slot when the circuit opened, without sending them', async () => {
    let sent = 0;
    const dead: SourceExecutor = {
      kind: 'dead',
      querySchema: z.object({}),
      maxConcurrency: 2,
      execute: async () => {
        sent++;
        await new Promise((r) => setTimeout(r, 5));
        throw Object.assign(new Error('service unavailable'), { retryable: true });
      },
    };
    const executor = createExecutor({ sources: { dead }, retry: { attempts: 1 }, circuitBreaker: { failureThreshold: 3, resetTimeoutMs: 60_000 }, cache: false });
    const fragments = Array.from({ length: 20 }, (_, i) => ({ id: `f${i}`, source: 'dead', query: {} }));
    const result = await executor.execute({ fragments, merge: { op: 'union', inputs: fragments.map((f) => f.id) }, errorPolicy: 'partial' });
    expect(result.errors).toHaveLength(20);
    expect(sent).toBeLessThanOrEqual(4);
    expect(result.errors.filter((e) => e.code === 'SOURCE_UNAVAILABLE' && /circuit is open/.test(e.message)).length).toBeGreaterThanOrEqual(16);
    expect(executor.metrics().sources.dead!.circuit).toBe('open');
    await executor.close();
  });
});

describe('on the virtual clock', () => {
  it('cools an open circuit down after resetTimeoutMs, lets one probe through, and closes on its success', async () => {
    const clock = createVirtualClock();
    let healthy = false;
    let sent = 0;
    const flaky: SourceExecutor = {
      kind: 'flaky',
      querySchema: z.object({}),
      execute: () => {
        sent++;
        return healthy ? Promise.resolve([{ ok: true }]) : Promise.reject(Object.assign(new Error('service unavailable'), { retryable: true }));
      },
    };
    const executor = createExecutor({ sources: { flaky }, retry: { attempts: 1 }, circuitBreaker: { failureThreshold: 2, resetTimeoutMs: 10_000 }, cache: false, clock });
    const plan = () => ({ fragments: [{ id: 'f', source: 'flaky', query: {} }] });
    try {
      await executor.execute(plan());
      await executor.execute(plan());
      expect(executor.metrics().sources.flaky!.circuit).toBe('open');
      // Open: refused without a call.
      const refused = await executor.execute(plan());
      expect(refused.errors[0]).toMatchObject({ code: 'SOURCE_UNAVAILABLE' });
      expect(sent).toBe(2);
      await clock.advanceAsync(9_999);
      expect((await executor.execute(plan())).status).toBe('failed');
      expect(sent).toBe(2);
      // Cooled down: the next call is the probe, and it closes the circuit.
      await clock.advanceAsync(1);
      healthy = true;
      const probe = await executor.execute(plan());
      expect(probe.status).toBe('ok');
      expect(sent).toBe(3);
      expect(executor.metrics().sources.flaky!.circuit).toBe('closed');
    } finally {
      await executor.close();
    }
  });
});
