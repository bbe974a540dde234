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

describe('a half-open probe that never reports', () => {
  // Fails until healthy; a `hang` query waits for its signal (and says nothing of the source).
  const setup = () => {
    const clock = createVirtualClock();
    const state = { healthy: false, sent: 0 };
    const flaky: SourceExecutor<{ hang?: boolean }> = {
      kind: 'flaky',
      querySchema: z.object({ hang: z.boolean().optional() }),
      execute: (query, ctx) => {
        state.sent++;
        if (state.healthy) return Promise.resolve([{ ok: true }]);
        if (query.hang) return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)));
        return Promise.reject(Object.assign(new Error('service unavailable'), { retryable: true }));
      },
    };
    const executor = createExecutor({ sources: { flaky }, retry: { attempts: 1 }, circuitBreaker: { failureThreshold: 2, resetTimeoutMs: 1_000 }, cache: false, clock });
    return { clock, state, executor };
  };
  const plan = (query: { hang?: boolean }, deadlineMs?: number) => ({ fragments: [{ id: 'f', source: 'flaky', query, ...(deadlineMs === undefined ? {} : { deadlineMs }) }] });

  it.each(['cancelled', 'past its fragment deadline'] as const)('gives the probe back when it is %s, so the next call probes and can close the circuit', async (how) => {
    const { clock, state, executor } = setup();
    try {
      await executor.execute(plan({}));
      await executor.execute(plan({}));
      expect(executor.metrics().sources.flaky!.circuit).toBe('open');
      await clock.advanceAsync(1_000);
      // The probe: it hangs, then its run is cancelled or its fragment's deadline passes.
      const probe = executor.run(plan({ hang: true }, how === 'cancelled' ? undefined : 50));
      await clock.advanceAsync(0);
      expect(state.sent).toBe(3);
      expect(executor.metrics().sources.flaky!.circuit).toBe('half-open');
      if (how === 'cancelled') {
        probe.cancel('the caller left');
        await expect(probe.result).rejects.toMatchObject({ code: 'CANCELLED' });
      } else {
        await clock.advanceAsync(50);
        expect((await probe.result).errors[0]).toMatchObject({ code: 'TIMEOUT' });
      }
      // The source is back: the next call is let through as the probe and closes the circuit.
      state.healthy = true;
      const next = await executor.execute(plan({}));
      expect(next.status).toBe('ok');
      expect(state.sent).toBe(4);
      expect(executor.metrics().sources.flaky!.circuit).toBe('closed');
    } finally {
      await executor.close();
    }
  });
});

describe('a call refused while the probe is out', () => {
  it('says the circuit is half-open, not open', async () => {
    const clock = createVirtualClock();
    const state = { sent: 0 };
    const flaky: SourceExecutor<{ hang?: boolean }> = {
      kind: 'flaky',
      querySchema: z.object({ hang: z.boolean().optional() }),
      execute: (query, ctx) => {
        state.sent++;
        if (query.hang) return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)));
        return Promise.reject(Object.assign(new Error('service unavailable'), { retryable: true }));
      },
    };
    const executor = createExecutor({ sources: { flaky }, retry: { attempts: 1 }, circuitBreaker: { failureThreshold: 1, resetTimeoutMs: 1_000 }, cache: false, clock });
    try {
      await executor.execute({ fragments: [{ id: 'f', source: 'flaky', query: {} }] });
      const whileOpen = await executor.execute({ fragments: [{ id: 'f', source: 'flaky', query: {} }] });
      expect(whileOpen.errors[0]!.message).toMatch(/its circuit is open/);
      await clock.advanceAsync(1_000);
      const probe = executor.run({ fragments: [{ id: 'p', source: 'flaky', query: { hang: true } }] });
      await clock.advanceAsync(0);
      expect(executor.metrics().sources.flaky!.circuit).toBe('half-open');
      const refused = await executor.execute({ fragments: [{ id: 'f', source: 'flaky', query: {} }] });
      expect(refused.errors[0]).toMatchObject({ code: 'SOURCE_UNAVAILABLE' });
      expect(refused.errors[0]!.message).toMatch(/half-open .* probe call is still out/);
      expect(state.sent).toBe(2);
      probe.cancel('done');
      await expect(probe.result).rejects.toMatchObject({ code: 'CANCELLED' });
    } finally {
      await executor.close();
    }
  });
});

describe('a call sent before the circuit opened', () => {
  it('that succeeds during the cool-down leaves the circuit open: only the probe closes it', async () => {
    const clock = createVirtualClock();
    let sent = 0;
    // A slow query answers after 500 ms; every other call fails at once.
    const source: SourceExecutor<{ slow?: boolean }> = {
      kind: 'mixed',
      querySchema: z.object({ slow: z.boolean().optional() }),
      execute: (query) => {
        sent++;
        if (query.slow) return new Promise((resolve) => clock.setTimeout(() => resolve([{ ok: true }]), 500));
        return Promise.reject(Object.assign(new Error('service unavailable'), { retryable: true }));
      },
    };
    const executor = createExecutor({ sources: { s: source }, retry: { attempts: 1 }, circuitBreaker: { failureThreshold: 2, resetTimeoutMs: 10_000 }, cache: false, clock });
    const transitions: string[] = [];
    executor.events$.subscribe((e) => {
      if (e.type.startsWith('source.circuit.')) transitions.push(e.type);
    });
    try {
      const slow = executor.run({ fragments: [{ id: 'f', source: 's', query: { slow: true } }] });
      await clock.advanceAsync(0);
      await executor.execute({ fragments: [{ id: 'f', source: 's', query: {} }] });
      await executor.execute({ fragments: [{ id: 'f', source: 's', query: {} }] });
      expect(executor.metrics().sources.s!.circuit).toBe('open');
      await clock.advanceAsync(500);
      expect((await slow.result).status).toBe('ok');
      expect(executor.metrics().sources.s!.circuit).toBe('open');
      expect(transitions).toEqual(['source.circuit.opened']);
      // Still refused without a call until resetTimeoutMs has passed.
      const refused = await executor.execute({ fragments: [{ id: 'f', source: 's', query: {} }] });
      expect(refused.errors[0]).toMatchObject({ code: 'SOURCE_UNAVAILABLE' });
      expect(sent).toBe(3);
    } finally {
      await executor.close();
    }
  });
});
