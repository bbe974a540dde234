import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createExecutor, type ExecutionEvent, type Executor, type SourceExecutor } from '../../src/index.js';

/**
 * DESIGN.md's retry contract, watched the way issue 3's acceptance says: with vitest's fake
 * timers (not the executor's virtual clock), a source that fails twice with a retryable
 * error, then answers.
 */
describe('retry under vitest fake timers', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
    vi.useRealTimers();
  });

  function flaky(failures: number, retryable: boolean): { source: SourceExecutor<{ k: string }>; calls: () => number } {
    let calls = 0;
    return {
      calls: () => calls,
      source: {
        kind: 'flaky',
        querySchema: z.object({ k: z.string() }),
        execute: async (query) => {
          calls += 1;
          if (calls <= failures) throw Object.assign(new Error(`boom ${calls}`), { retryable });
          return [{ k: query.k, calls }];
        },
      },
    };
  }

  it('retries a retryable failure twice, with delays inside the backoff bounds, then succeeds (attempts 3)', async () => {
    vi.useFakeTimers();
    const src = flaky(2, true);
    const retry = { attempts: 3, initialDelayMs: 100, maxDelayMs: 150, factor: 2, jitter: 'full' as const };
    executor = createExecutor({ sources: { flaky: src.source }, retry, cache: false });
    const run = executor.run({ id: 'ft', fragments: [{ id: 'f', source: 'flaky', query: { k: 'x' } }] });
    const events: ExecutionEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    let settled = false;
    void run.result.finally(() => (settled = true));
    for (let i = 0; i < 50 && !settled; i++) await vi.advanceTimersByTimeAsync(50);
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.rows).toEqual([{ k: 'x', calls: 3 }]);
    expect(result.fragments.f).toMatchObject({ attempts: 3, calls: 3, status: 'succeeded' });
    expect(src.calls()).toBe(3);
    const retrying = events.filter((e) => e.type === 'fragment.retrying');
    expect(retrying.map((e) => e.type === 'fragment.retrying' && e.attempt)).toEqual([2, 3]);
    // full jitter: a delay in [0, min(maxDelayMs, initialDelayMs * factor^(n-1))].
    const bounds = [100, 150];
    retrying.forEach((e, i) => {
      if (e.type !== 'fragment.retrying') throw new Error('unreachable');
      expect(e.delayMs).toBeGreaterThanOrEqual(0);
      expect(e.delayMs).toBeLessThanOrEqual(bounds[i]!);
    });
    expect(result.stats.retries).toBe(2);
  });

  it('with jitter "none" waits exactly initialDelayMs, then initialDelayMs × factor: nothing is retried before the delay is up', async () => {
    vi.useFakeTimers();
    const src = flaky(2, true);
    executor = createExecutor({ sources: { flaky: src.source }, retry: { attempts: 3, initialDelayMs: 1000, factor: 3, maxDelayMs: 60_000, jitter: 'none' }, cache: false });
    const run = executor.run({ id: 'fn', fragments: [{ id: 'f', source: 'flaky', query: { k: 'y' } }] });
    await vi.advanceTimersByTimeAsync(0);
    expect(src.calls()).toBe(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(src.calls()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(src.calls()).toBe(2);
    await vi.advanceTimersByTimeAsync(2999);
    expect(src.calls()).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(src.calls()).toBe(3);
    expect((await run.result).status).toBe('ok');
  });

  it('tries a non-retryable failure once', async () => {
    vi.useFakeTimers();
    const src = flaky(1, false);
    executor = createExecutor({ sources: { flaky: src.source }, retry: { attempts: 5, initialDelayMs: 10 }, cache: false });
    const run = executor.run({ id: 'nr', fragments: [{ id: 'f', source: 'flaky', query: { k: 'z' } }] });
    await vi.advanceTimersByTimeAsync(10_000);
    const result = await run.result;
    expect(result.status).toBe('failed');
    expect(src.calls()).toBe(1);
    expect(result.errors[0]).toMatchObject({ fragmentId: 'f', source: 'flaky', attempt: 1, retryable: false });
  });

  it('aborts a hanging call at the per-attempt timeout: its signal fires and the fragment fails TIMEOUT', async () => {
    vi.useFakeTimers();
    const signals: AbortSignal[] = [];
    const hanging: SourceExecutor<{ k: string }> = {
      kind: 'hang',
      querySchema: z.object({ k: z.string() }),
      execute: (_q, ctx) => {
        signals.push(ctx.signal);
        return new Promise(() => undefined);
      },
    };
    executor = createExecutor({ sources: { hang: hanging }, retry: { attempts: 1 }, timeoutMs: 500, cache: false });
    const run = executor.run({ id: 'to', fragments: [{ id: 'h', source: 'hang', query: { k: 'h' } }] });
    await vi.advanceTimersByTimeAsync(499);
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const result = await run.result;
    expect(signals[0]!.aborted).toBe(true);
    expect(result.status).toBe('failed');
    expect(result.errors[0]).toMatchObject({ code: 'TIMEOUT', fragmentId: 'h' });
  });
});
