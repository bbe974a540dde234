import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createExecutor, createVirtualClock, FragmentError, TributaryError, type Executor, type VirtualClock } from '../../src/index.js';
import { backoffDelay, defaultRetryPolicy, mergeRetry, type RetryPolicy } from '../../src/execution/retry.js';
import { collectEvents, flush, ofType, sourceError, testSource } from '../support/engine.js';

const policy = (over: Partial<RetryPolicy> = {}): RetryPolicy => ({ ...defaultRetryPolicy, initialDelayMs: 100, maxDelayMs: 1000, factor: 2, ...over });

describe('backoffDelay', () => {
  it('grows exponentially and is capped at maxDelayMs (no jitter)', () => {
    const p = policy({ jitter: 'none' });
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(p, n))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('full jitter is uniform in [0, ceiling]', () => {
    const p = policy({ jitter: 'full' });
    expect(backoffDelay(p, 3, () => 0)).toBe(0);
    expect(backoffDelay(p, 3, () => 0.5)).toBe(200);
    expect(backoffDelay(p, 3, () => 0.999999)).toBe(400);
  });

  it('equal jitter is in [ceiling/2, ceiling]', () => {
    const p = policy({ jitter: 'equal' });
    expect(backoffDelay(p, 2, () => 0)).toBe(100);
    expect(backoffDelay(p, 2, () => 1)).toBe(200);
  });

  it('never retries before a Retry-After: maxDelayMs caps only the backoff', () => {
    const p = policy({ jitter: 'none' });
    expect(backoffDelay(p, 1, Math.random, 700)).toBe(700);
    expect(backoffDelay(p, 1, Math.random, 5000)).toBe(5000);
    expect(backoffDelay(p, 1, Math.random, 10)).toBe(100);
    expect(backoffDelay(p, 9, Math.random)).toBe(1000);
  });

  it('holds a Retry-After longer than a timer can (or Infinity) at 2^31-1 ms: Node would fire it after 1 ms', () => {
    const p = policy({ jitter: 'none' });
    expect(backoffDelay(p, 1, Math.random, 3e9)).toBe(2 ** 31 - 1);
    expect(backoffDelay(p, 1, Math.random, Infinity)).toBe(2 ** 31 - 1);
    expect(backoffDelay(p, 1, Math.random, 2 ** 31 - 1)).toBe(2 ** 31 - 1);
  });
});

describe('mergeRetry', () => {
  it('layers executor, plan and fragment policies over the defaults, ignoring undefined', () => {
    expect(mergeRetry({ attempts: 5, jitter: 'none' }, { initialDelayMs: 10, attempts: undefined }, { factor: 3 })).toEqual({
      attempts: 5,
      initialDelayMs: 10,
      maxDelayMs: 2000,
      factor: 3,
      jitter: 'none',
      idempotent: false,
    });
    expect(mergeRetry()).toEqual(defaultRetryPolicy);
  });
});

/** Every run here is on a virtual clock: backoff and timeouts happen when the test moves time. */
describe('retry and timeout in a run', () => {
  let executor: Executor | undefined;
  let clock: VirtualClock;
  beforeEach(() => {
    clock = createVirtualClock();
  });
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  it('retries a retryable failure with backoff: 3 attempts, 2 retrying events within the bounds', async () => {
    let n = 0;
    const src = testSource({ behaviour: () => (++n <= 2 ? sourceError('connection reset', true) : [{ ok: n }]) });
    executor = createExecutor({
      sources: { s: src.source },
      retry: { attempts: 3, initialDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: 'equal' },
      cache: false,
      clock,
    });
    const run = executor.run({ fragments: [{ id: 'f', source: 's', query: { key: 'f' } }] });
    const events = collectEvents(run);

    await flush();
    expect(src.calls).toHaveLength(1);
    const first = ofType(events, 'fragment.retrying');
    expect(first).toHaveLength(1);
    const d1 = first[0]!.delayMs;
    expect(d1).toBeGreaterThanOrEqual(50);
    expect(d1).toBeLessThanOrEqual(100);
    // The second attempt waits for the whole delay.
    await clock.advanceAsync(d1 - 1);
    expect(src.calls).toHaveLength(1);
    await clock.advanceAsync(1);
    expect(src.calls).toHaveLength(2);

    const retrying = ofType(events, 'fragment.retrying');
    expect(retrying).toHaveLength(2);
    const d2 = retrying[1]!.delayMs;
    expect(d2).toBeGreaterThanOrEqual(100);
    expect(d2).toBeLessThanOrEqual(200);
    await clock.advanceAsync(d2 - 1);
    expect(src.calls).toHaveLength(2);
    await clock.advanceAsync(1);
    expect(src.calls).toHaveLength(3);

    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.rows).toEqual([{ ok: 3 }]);
    expect(result.fragments.f!.attempts).toBe(3);
    expect(result.stats.retries).toBe(2);
    expect(retrying.map((e) => e.attempt)).toEqual([2, 3]);
    expect(ofType(events, 'fragment.attempt.failed').map((e) => [e.attempt, e.retryable])).toEqual([
      [1, true],
      [2, true],
    ]);
    expect(ofType(events, 'fragment.started').map((e) => e.attempt)).toEqual([1, 2, 3]);
  });

  it('keeps full-jitter delays within [0, initialDelayMs·factor^(n-1)]', async () => {
    let n = 0;
    const src = testSource({ behaviour: () => (++n <= 2 ? sourceError('busy', true) : [{ ok: true }]) });
    executor = createExecutor({ sources: { s: src.source }, retry: { attempts: 3, initialDelayMs: 100, factor: 3, jitter: 'full' }, cache: false, clock });
    const run = executor.run({ fragments: [{ id: 'f', source: 's', query: { key: 'f' } }] });
    const events = collectEvents(run);
    await clock.advanceAsync(1000);
    const result = await run.result;
    const delays = ofType(events, 'fragment.retrying').map((e) => e.delayMs);
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeGreaterThanOrEqual(0);
    expect(delays[0]).toBeLessThanOrEqual(100);
    expect(delays[1]).toBeGreaterThanOrEqual(0);
    expect(delays[1]).toBeLessThanOrEqual(300);
    expect(result.fragments.f!.attempts).toBe(3);
  });

  it('waits no less than a custom source\'s huge retryAfterMs allows a timer: the retry does not come at once', async () => {
    let n = 0;
    const src = testSource({ behaviour: () => (++n === 1 ? Object.assign(new Error('come back next month'), { retryable: true, retryAfterMs: 3e9 }) : [{ ok: n }]) });
    executor = createExecutor({ sources: { s: src.source }, retry: { attempts: 2 }, cache: false, clock });
    const run = executor.run({ fragments: [{ id: 'f', source: 's', query: { key: 'f' } }] });
    const events = collectEvents(run);
    await flush();
    expect(ofType(events, 'fragment.retrying').map((e) => e.delayMs)).toEqual([2 ** 31 - 1]);
    await clock.advanceAsync(60_000);
    expect(src.calls).toHaveLength(1);
    run.cancel();
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('tries a non-retryable error once and fails with its FragmentError', async () => {
    const src = testSource({ behaviour: () => sourceError('syntax error near FROM', false) });
    executor = createExecutor({ sources: { s: src.source }, retry: { attempts: 5 }, cache: false, clock });
    const run = executor.run({ fragments: [{ id: 'f', source: 's', query: { key: 'f' } }] });
    const events = collectEvents(run);
    await clock.advanceAsync(10_000);
    const result = await run.result;
    expect(src.calls).toHaveLength(1);
    expect(ofType(events, 'fragment.retrying')).toHaveLength(0);
    expect(result.status).toBe('failed');
    const error = result.errors[0] as FragmentError;
    expect(error).toBeInstanceOf(FragmentError);
    expect(error).toMatchObject({ code: 'FRAGMENT_FAILED', fragmentId: 'f', source: 's', attempt: 1, retryable: false });
    expect(error.message).toContain('syntax error near FROM');
    expect(result.fragments.f!.attempts).toBe(1);
  });

  it('gives up after `attempts` tries of a retryable error', async () => {
    const src = testSource({ behaviour: () => sourceError('still down', true) });
    executor = createExecutor({ sources: { s: src.source }, retry: { attempts: 4, initialDelayMs: 10, jitter: 'none' }, cache: false, clock });
    const run = executor.run({ fragments: [{ id: 'f', source: 's', query: { key: 'f' } }] });
    await clock.advanceAsync(10 + 20 + 40);
    const result = await run.result;
    expect(src.calls).toHaveLength(4);
    expect(result.status).toBe('failed');
    expect(result.errors[0]).toMatchObject({ code: 'SOURCE_UNAVAILABLE', attempt: 4, retryable: true });
    expect(result.fragments.f!.attempts).toBe(4);
  });

  it('aborts a hanging source call at the timeout: code TIMEOUT, the signal fired', async () => {
    const src = testSource(); // never answers on its own
    executor = createExecutor({ sources: { s: src.source }, timeoutMs: 1000, retry: { attempts: 1 }, cache: false, clock });
    const run = executor.run({ fragments: [{ id: 'f', source: 's', query: { key: 'f' } }] });
    let settled = false;
    void run.result.then(() => (settled = true));
    await clock.advanceAsync(999);
    expect(src.calls).toHaveLength(1);
    expect(src.calls[0]!.signal.aborted).toBe(false);
    expect(settled).toBe(false);
    await clock.advanceAsync(1);
    const result = await run.result;
    expect(src.calls[0]!.signal.aborted).toBe(true);
    expect(src.calls[0]!.signal.reason).toBeInstanceOf(TributaryError);
    expect((src.calls[0]!.signal.reason as TributaryError).code).toBe('TIMEOUT');
    expect(result.status).toBe('failed');
    const error = result.errors[0] as FragmentError;
    expect(error).toBeInstanceOf(FragmentError);
    expect(error).toMatchObject({ code: 'TIMEOUT', fragmentId: 'f', source: 's', attempt: 1, retryable: true });
  });

  it('retries a timed-out attempt, and a fragment timeoutMs overrides the executor’s', async () => {
    const src = testSource();
    executor = createExecutor({ sources: { s: src.source }, timeoutMs: 60_000, retry: { attempts: 2, initialDelayMs: 10, jitter: 'none' }, cache: false, clock });
    const run = executor.run({ fragments: [{ id: 'f', source: 's', query: { key: 'f' }, timeoutMs: 200 }] });
    await clock.advanceAsync(200);
    expect(src.calls[0]!.signal.aborted).toBe(true);
    await clock.advanceAsync(10);
    expect(src.calls).toHaveLength(2);
    src.calls[1]!.resolve([{ late: true }]);
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.rows).toEqual([{ late: true }]);
    expect(result.fragments.f!.attempts).toBe(2);
  });

  it('times an attempt from its start, not from when it began waiting for a slot', async () => {
    const src = testSource();
    executor = createExecutor({ sources: { s: src.source }, concurrency: 1, timeoutMs: 100, retry: { attempts: 1 }, cache: false, clock });
    const run = executor.run({
      fragments: [
        { id: 'a', source: 's', query: { key: 'a' } },
        { id: 'b', source: 's', query: { key: 'b' } },
      ],
      merge: { op: 'union', inputs: ['a', 'b'] },
    });
    await clock.advanceAsync(80);
    expect(src.calls.map((c) => c.key)).toEqual(['a']);
    src.calls[0]!.resolve([{ k: 'a' }]);
    await clock.advanceAsync(80);
    expect(src.calls.map((c) => c.key)).toEqual(['a', 'b']);
    expect(src.calls[1]!.signal.aborted).toBe(false);
    src.calls[1]!.resolve([{ k: 'b' }]);
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.rows).toEqual([{ k: 'a' }, { k: 'b' }]);
  });

  it('gives its lane slot back while it waits to retry', async () => {
    let failures = 0;
    const src = testSource({ behaviour: (c) => (c.key === 'flaky' && ++failures === 1 ? sourceError('reset', true) : [{ k: c.key }]) });
    executor = createExecutor({ sources: { s: src.source }, concurrency: 1, retry: { attempts: 2, initialDelayMs: 1000, jitter: 'none' }, cache: false, clock });
    const run = executor.run({
      fragments: [
        { id: 'flaky', source: 's', query: { key: 'flaky' } },
        { id: 'other', source: 's', query: { key: 'other' } },
      ],
      merge: { op: 'union', inputs: ['flaky', 'other'] },
    });
    await clock.advanceAsync(10);
    // `other` ran during flaky's backoff.
    expect(src.calls.map((c) => c.key)).toEqual(['flaky', 'other']);
    await clock.advanceAsync(1000);
    expect(src.calls.map((c) => c.key)).toEqual(['flaky', 'other', 'flaky']);
    const result = await run.result;
    expect(result.rows).toEqual([{ k: 'flaky' }, { k: 'other' }]);
  });

  it('a plan’s retry policy overrides the executor’s, and a fragment’s overrides the plan’s', async () => {
    const src = testSource({ behaviour: (c) => (c.key === 'g' || src.calls.filter((x) => x.key === c.key).length < 3 ? sourceError('flaky', true) : [{ k: c.key }]) });
    executor = createExecutor({ sources: { s: src.source }, retry: { attempts: 1, initialDelayMs: 1, jitter: 'none' }, cache: false, clock });
    const run = executor.run({
      fragments: [
        { id: 'f', source: 's', query: { key: 'f' } },
        { id: 'g', source: 's', query: { key: 'g' }, retry: { attempts: 2 } },
      ],
      merge: { op: 'union', inputs: ['f', 'g'] },
      retry: { attempts: 3 },
      errorPolicy: 'partial',
    });
    await clock.advanceAsync(100);
    const result = await run.result;
    expect(result.fragments.f!.attempts).toBe(3);
    expect(result.fragments.f!.status).toBe('succeeded');
    expect(result.fragments.g!.attempts).toBe(2);
    expect(result.fragments.g!.status).toBe('failed');
    expect(src.calls.filter((c) => c.key === 'g')).toHaveLength(2);
  });
});
