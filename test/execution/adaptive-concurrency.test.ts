import { describe, expect, it } from 'vitest';
import { createExecutor, createVirtualClock, TributaryError, type ExecutionEvent, type ExecutorOptions, type VirtualClock } from '../../src/index.js';
import { createAdaptiveLimit, defaultAdaptiveOptions } from '../../src/execution/adaptive-limit.js';
import { overloadedSource, type OverloadFigures } from '../support/overload-source.js';

const CALLS = 400;

/** One plan of CALLS one-call fragments on the simulated server, run to the end on the virtual clock. */
async function runOverloaded(maxConcurrency: number, options: Partial<ExecutorOptions> = {}) {
  const clock: VirtualClock = createVirtualClock();
  const source = overloadedSource(clock, { maxConcurrency });
  const executor = createExecutor({ sources: { db: source }, clock, cache: false, concurrency: 10_000, telemetry: false, ...options });
  const ids = Array.from({ length: CALLS }, (_, i) => `f${i}`);
  const plan = { fragments: ids.map((id, n) => ({ id, source: 'db', query: { n } })), merge: { op: 'union' as const, inputs: ids }, errorPolicy: 'partial' as const };
  const events: ExecutionEvent[] = [];
  const subscription = executor.events$.subscribe((e) => events.push(e));
  try {
    let done = false;
    const pending = executor.execute(plan).finally(() => (done = true));
    while (!done) await clock.advanceAsync(5);
    const result = await pending;
    return { result, ms: clock.now(), figures: source.figures as OverloadFigures, events, metrics: executor.metrics() };
  } finally {
    subscription.unsubscribe();
    await executor.close();
  }
}

describe('adaptiveConcurrency on an overloaded source (virtual clock)', () => {
  it('finishes within 1.5× the ideal fixed limit, where a fixed limit of 64 fails, with retries under 5% of calls', async () => {
    // The server: 10 ms up to 8 calls in flight, slower with the square of the load past 8,
    // rejecting (retryable) past 24.
    const ideal = await runOverloaded(8);
    expect(ideal.result.status).toBe('ok');
    expect(ideal.ms).toBe(CALLS / 8 * 10);

    const fixed = await runOverloaded(64);
    // Slow or failed: here it fails, its retries spent on a server that keeps rejecting.
    const fixedSlowOrFailed = fixed.result.status !== 'ok' || fixed.ms > 1.5 * ideal.ms;
    expect(fixedSlowOrFailed).toBe(true);
    expect(fixed.figures.rejected).toBeGreaterThan(0);

    const adaptive = await runOverloaded(64, { adaptiveConcurrency: true });
    expect(adaptive.result.status).toBe('ok');
    expect(adaptive.result.rows).toHaveLength(CALLS);
    expect(adaptive.ms).toBeLessThanOrEqual(1.5 * ideal.ms);
    expect(adaptive.result.stats.retries).toBeLessThan(0.05 * adaptive.figures.calls);
    // The server never saw the load at which it rejects.
    expect(adaptive.figures.peak).toBeLessThan(24);

    const changes = adaptive.events.filter((e): e is Extract<ExecutionEvent, { type: 'source.limit.changed' }> => e.type === 'source.limit.changed');
    expect(changes.length).toBeGreaterThan(0);
    expect(changes[0]).toMatchObject({ source: 'db', previous: 4 });
    for (const c of changes) {
      expect(c.limit).toBeGreaterThanOrEqual(1);
      expect(c.limit).toBeLessThanOrEqual(64);
      expect(c.limit).not.toBe(c.previous);
    }
    // Each change starts where the last one ended, and the metrics show the last.
    for (let i = 1; i < changes.length; i++) expect(changes[i]!.previous).toBe(changes[i - 1]!.limit);
    expect(adaptive.metrics.sources.db!.limit).toBe(changes.at(-1)!.limit);
    expect(adaptive.metrics.lanes.sources.db!.limit).toBe(changes.at(-1)!.limit);
  });

  it('keeps fixed limits by default: the lane limit is the source’s maxConcurrency and never moves', async () => {
    const fixed = await runOverloaded(8);
    expect(fixed.events.some((e) => e.type === 'source.limit.changed')).toBe(false);
    expect(fixed.metrics.sources.db!.limit).toBe(8);
  });

  it('respects max and min from the options', async () => {
    const run = await runOverloaded(64, { adaptiveConcurrency: { max: 6, initial: 2 } });
    expect(run.result.status).toBe('ok');
    expect(run.figures.peak).toBeLessThanOrEqual(6);
    const changes = run.events.filter((e): e is Extract<ExecutionEvent, { type: 'source.limit.changed' }> => e.type === 'source.limit.changed');
    expect(changes[0]!.previous).toBe(2);
    expect(Math.max(...changes.map((c) => c.limit))).toBe(6);
  });

  it('rejects options that cannot hold', () => {
    expect(() => createExecutor({ adaptiveConcurrency: { min: 5, max: 2 } })).toThrow(TributaryError);
    try {
      createExecutor({ adaptiveConcurrency: { initial: 0 } });
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'CONFIG_INVALID', issues: [expect.objectContaining({ path: 'adaptiveConcurrency.initial' })] });
    }
  });
});

describe('the Vegas limit', () => {
  const options = { ...defaultAdaptiveOptions };

  it('starts at initial, clamped to [min, max]', () => {
    expect(createAdaptiveLimit(options, 100).limit).toBe(4);
    expect(createAdaptiveLimit({ ...options, initial: 50 }, 10).limit).toBe(10);
    expect(createAdaptiveLimit({ ...options, min: 3, initial: 1 }, 10).limit).toBe(3);
  });

  it('grows while calls show no queue, and holds when the caller sends few calls', () => {
    const limit = createAdaptiveLimit(options, 100);
    let t = 0;
    limit.sample(t, 10, 4, false); // the first sample is the no-load RTT
    t += 10;
    limit.sample(t, 10, 4, false);
    expect(limit.limit).toBeGreaterThan(4);
    const grown = limit.limit;
    // One call in flight of a limit above 2: the source is not what limits; no drift upward.
    t += 10;
    limit.sample(t, 10, 1, false);
    expect(limit.limit).toBe(grown);
  });

  it('shrinks when the round trip shows a long queue', () => {
    const limit = createAdaptiveLimit({ ...options, initial: 40 }, 100);
    limit.sample(0, 10, 40, false);
    limit.sample(1, 100, 40, false); // 40 × (1 − 10/100) = 36 calls queued
    expect(limit.limit).toBeLessThan(40);
    expect(limit.limit).toBeGreaterThanOrEqual(20); // at most halved per step
  });

  it('backs off on overload once per round trip: a burst of rejections of one limit counts once', () => {
    const limit = createAdaptiveLimit({ ...options, initial: 20 }, 100);
    limit.sample(0, 5, 20, true);
    expect(limit.limit).toBe(18);
    // Calls sent before that cut (started at 0–4) failing too say nothing new.
    for (let i = 0; i < 5; i++) limit.sample(i, 5, 20, true);
    expect(limit.limit).toBe(18);
    // A call sent after the cut that fails again cuts again.
    limit.sample(6, 5, 18, true);
    expect(limit.limit).toBe(16);
  });

  it('never goes below min nor above max', () => {
    const limit = createAdaptiveLimit({ ...options, min: 2, initial: 3 }, 5);
    for (let t = 0; t < 1000; t += 10) limit.sample(t, 1, 5, true);
    expect(limit.limit).toBe(2);
    for (let t = 1000; t < 3000; t += 10) limit.sample(t, 1, 5, false);
    expect(limit.limit).toBe(5);
  });
});
