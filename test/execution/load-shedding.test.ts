import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, createVirtualClock, type ExecutionEvent, type FragmentError, type SourceExecutor, type VirtualClock } from '../../src/index.js';
import { createLane, type LaneClient, type ShedReason } from '../../src/execution/lanes.js';
import { flush } from '../support/engine.js';

/** A source whose calls each take `ms` on the clock; counts calls. */
function slowSource(clock: VirtualClock, ms: number, extra: Partial<SourceExecutor> = {}): SourceExecutor & { calls: number } {
  const source = {
    kind: 'slow',
    querySchema: z.object({ n: z.number() }),
    calls: 0,
    maxConcurrency: 1,
    execute: (query: { n: number }) => {
      source.calls++;
      return new Promise<{ n: number }[]>((resolve) => clock.setTimeout(() => resolve([{ n: query.n }]), ms));
    },
    ...extra,
  };
  return source;
}

const planOf = (n: number) => {
  const ids = Array.from({ length: n }, (_, i) => `f${i}`);
  return { fragments: ids.map((id, i) => ({ id, source: 's', query: { n: i } })), merge: { op: 'union' as const, inputs: ids }, errorPolicy: 'partial' as const };
};

async function drive(clock: VirtualClock, pending: Promise<unknown>): Promise<void> {
  let done = false;
  void pending.finally(() => (done = true));
  while (!done) await clock.advanceAsync(5);
}

describe('load shedding in the lanes', () => {
  it('maxQueued: a call that finds the queue full fails at once with a retryable SOURCE_UNAVAILABLE (overloaded)', async () => {
    const clock = createVirtualClock();
    const source = slowSource(clock, 100);
    const executor = createExecutor({ sources: { s: source }, clock, cache: false, maxQueued: 2, retry: { attempts: 1 } });
    try {
      const run = executor.run(planOf(5));
      const events: ExecutionEvent[] = [];
      run.events$.subscribe((e) => events.push(e));
      await drive(clock, run.result);
      const result = await run.result;
      // One running, two waiting; the other two shed without reaching the source.
      expect(source.calls).toBe(3);
      expect(result.errors).toHaveLength(2);
      for (const error of result.errors) {
        expect(error).toMatchObject({ code: 'SOURCE_UNAVAILABLE', source: 's' });
        expect(error.message).toMatch(/source "s" is overloaded: 2 calls already wait for it \(maxQueued\)/);
        // The attempt's own verdict was "retryable"; with attempts: 1 it was not retried.
        expect(error.retryable).toBe(true);
      }
      // Shed at once, at time 0, not after waiting.
      const failed = events.filter((e) => e.type === 'fragment.failed');
      expect(failed.map((e) => e.at)).toEqual([0, 0]);
    } finally {
      await executor.close();
    }
  });

  it('maxQueueMs: a call that waited longer is shed on the executor clock, and a retry can still succeed', async () => {
    const clock = createVirtualClock();
    const source = slowSource(clock, 100);
    const executor = createExecutor({ sources: { s: source }, clock, cache: false, maxQueueMs: 50, retry: { attempts: 1 } });
    try {
      const run = executor.run(planOf(2));
      const events: ExecutionEvent[] = [];
      run.events$.subscribe((e) => events.push(e));
      await drive(clock, run.result);
      const result = await run.result;
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true, fragmentId: 'f1' });
      expect(result.errors[0]!.message).toContain('waited 50 ms for a slot (maxQueueMs)');
      expect(events.find((e) => e.type === 'fragment.failed')!.at).toBe(50);
      expect(source.calls).toBe(1);
    } finally {
      await executor.close();
    }
    // With retries, the shed call comes back after its backoff and gets its turn.
    const clock2 = createVirtualClock();
    const again = createExecutor({ sources: { s: slowSource(clock2, 100) }, clock: clock2, cache: false, maxQueueMs: 50, retry: { attempts: 3, initialDelayMs: 100, jitter: 'none' } });
    try {
      const pending = again.execute(planOf(2));
      await drive(clock2, pending);
      const result = await pending;
      expect(result.status).toBe('ok');
      expect(result.stats.retries).toBe(1);
    } finally {
      await again.close();
    }
  });

  it('a source’s own maxQueued / maxQueueMs win over the executor’s', async () => {
    const clock = createVirtualClock();
    const source = slowSource(clock, 100, { maxQueued: 0 });
    const executor = createExecutor({ sources: { s: source }, clock, cache: false, maxQueued: 10, retry: { attempts: 1 } });
    try {
      const pending = executor.execute(planOf(3));
      await drive(clock, pending);
      const result = await pending;
      expect(result.errors.map((e) => (e as FragmentError).fragmentId).sort()).toEqual(['f1', 'f2']);
    } finally {
      await executor.close();
    }
  });

  it('does not count shed calls against the circuit breaker', async () => {
    const clock = createVirtualClock();
    const source = slowSource(clock, 100);
    const executor = createExecutor({ sources: { s: source }, clock, cache: false, maxQueued: 0, retry: { attempts: 1 }, circuitBreaker: { failureThreshold: 2 } });
    try {
      const pending = executor.execute(planOf(6));
      await drive(clock, pending);
      expect((await pending).errors).toHaveLength(5);
      expect(executor.metrics().sources.s!.circuit).toBe('closed');
    } finally {
      await executor.close();
    }
  });

  it('rejects invalid options with CONFIG_INVALID', () => {
    expect(() => createExecutor({ maxQueued: -1 })).toThrow(/maxQueued/);
    expect(() => createExecutor({ maxQueueMs: 0 })).toThrow(/maxQueueMs/);
  });
});

describe('createLane shedding', () => {
  const client = (log: string[], name: string): LaneClient => ({
    granted: () => log.push(`granted ${name}`),
    shed: (reason: ShedReason) => log.push(`shed ${name} ${reason.kind}`),
  });

  it('sheds the oldest waiters first, with one timer for the lane, and skips those that left', async () => {
    const clock = createVirtualClock();
    const lane = createLane(1, { clock, maxQueueMs: 100 });
    const log: string[] = [];
    const a = lane.acquire(client(log, 'a'));
    lane.acquire(client(log, 'b'));
    clock.advance(30);
    const c = lane.acquire(client(log, 'c'));
    clock.advance(30);
    lane.acquire(client(log, 'd'));
    c.release();
    expect(clock.pending()).toBe(1);
    clock.advance(40); // b has waited 100
    expect(log).toEqual(['granted a', 'shed b queue-timeout']);
    expect(lane.stats()).toEqual({ limit: 1, running: 1, queued: 1 });
    clock.advance(60); // d has waited 100 (c left)
    expect(log).toEqual(['granted a', 'shed b queue-timeout', 'shed d queue-timeout']);
    expect(lane.stats().queued).toBe(0);
    a.release();
    await flush();
    expect(lane.stats()).toEqual({ limit: 1, running: 0, queued: 0 });
    lane.close();
    expect(clock.pending()).toBe(0);
  });

  it('a granted waiter is never shed', () => {
    const clock = createVirtualClock();
    const lane = createLane(1, { clock, maxQueueMs: 100 });
    const log: string[] = [];
    const a = lane.acquire(client(log, 'a'));
    lane.acquire(client(log, 'b'));
    clock.advance(50);
    a.release();
    clock.advance(100);
    expect(log).toEqual(['granted a', 'granted b']);
    lane.close();
  });
});

describe('a source’s own bounds', () => {
  it('are checked when it is registered', () => {
    const clock = createVirtualClock();
    expect(() => createExecutor({ sources: { s: slowSource(clock, 1, { maxQueued: -1 }) } })).toThrow(/sources\.s\.maxQueued/);
    expect(() => createExecutor({ sources: { s: slowSource(clock, 1, { maxQueueMs: 1.5 }) } })).toThrow(/sources\.s\.maxQueueMs/);
  });
});
