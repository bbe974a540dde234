import { lastValueFrom, Subject, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, createVirtualClock, progressFrom, type Executor, type ExecutionEvent, type Progress, type Row, type SourceExecutor } from '../../src/index.js';
import { flush, sourceError, testSource } from '../support/engine.js';

const q = 'q';
const frag = (type: string, fragmentId: string, extra: Record<string, unknown> = {}) =>
  ({ type, queryId: q, runId: 'run-1', at: 0, fragmentId, source: 's', level: 0, ...extra }) as unknown as ExecutionEvent;

const MONOTONIC = ['succeeded', 'failed', 'cached', 'skipped', 'level', 'percent', 'retries'] as const;

function expectMonotonic(values: Progress[]): void {
  for (let i = 1; i < values.length; i++) {
    for (const key of MONOTONIC) expect(values[i]![key], `${key} at #${i}`).toBeGreaterThanOrEqual(values[i - 1]![key]);
  }
}

describe('progressFrom', () => {
  it('starts at zero, counts finished fragments and keeps percent below 100 until query.done', () => {
    const events = new Subject<ExecutionEvent>();
    const seen: Progress[] = [];
    progressFrom(events, 2).subscribe((p) => seen.push(p));
    expect(seen).toEqual([{ total: 2, succeeded: 0, failed: 0, cached: 0, skipped: 0, cancelled: 0, running: 0, level: 0, percent: 0, retries: 0, done: false }]);
    events.next(frag('fragment.started', 'a', { attempt: 1, batch: { index: 0, count: 1 } }));
    expect(seen.at(-1)!.running).toBe(1);
    events.next(frag('fragment.succeeded', 'a', { rowCount: 1, attempts: 1, calls: 1, cached: false, startedAt: 0, durationMs: 1 }));
    expect(seen.at(-1)).toMatchObject({ succeeded: 1, running: 0, percent: 50 });
    events.next(frag('fragment.succeeded', 'b', { rowCount: 1, attempts: 0, calls: 0, cached: true, startedAt: 0, durationMs: 1 }));
    expect(seen.at(-1)).toMatchObject({ succeeded: 2, cached: 1, percent: 99, done: false });
    events.next({ type: 'query.done', queryId: q, runId: 'run-1', at: 1, status: 'ok', rowCount: 2, durationMs: 1 });
    expect(seen.at(-1)).toMatchObject({ percent: 100, done: true });
    expectMonotonic(seen);
  });

  it('emits only on change and completes with the events', () => {
    const events = new Subject<ExecutionEvent>();
    const seen: Progress[] = [];
    let completed = false;
    progressFrom(events, 1).subscribe({ next: (p) => seen.push(p), complete: () => (completed = true) });
    events.next(frag('fragment.queued', 'a'));
    events.next({ type: 'merge.started', queryId: q, runId: 'run-1', at: 0 });
    expect(seen).toHaveLength(1);
    events.complete();
    expect(completed).toBe(true);
  });

  it('counts retries, skips and failures', () => {
    const events = new Subject<ExecutionEvent>();
    const seen: Progress[] = [];
    progressFrom(events, 4).subscribe((p) => seen.push(p));
    events.next(frag('fragment.retrying', 'a', { attempt: 2, delayMs: 10 }));
    events.next(frag('fragment.failed', 'a', { attempts: 2, startedAt: 0, durationMs: 1, error: {} }));
    events.next(frag('fragment.skipped', 'b', { because: 'a' }));
    expect(seen.at(-1)).toMatchObject({ retries: 1, failed: 1, skipped: 1, percent: 50 });
  });
});

describe('progressFrom: level', () => {
  const lvl = (level: number, fragments?: number) =>
    ({ type: 'level.started', queryId: q, runId: 'run-1', at: 0, level, ...(fragments === undefined ? {} : { fragments }) }) as ExecutionEvent;
  const done = (fragmentId: string, level: number) => frag('fragment.succeeded', fragmentId, { level, rowCount: 0, attempts: 1, calls: 1, cached: false, startedAt: 0, durationMs: 1 });
  /** A run of `fragments` fragments in `levelCount` levels, started: its events, and the level of each progress value. */
  const started = (fragments: number, levelCount: number) => {
    const events = new Subject<ExecutionEvent>();
    const levels: number[] = [];
    progressFrom(events, fragments).subscribe((p) => levels.push(p.level));
    events.next({ type: 'query.started', queryId: q, runId: 'run-1', at: 0, fragments, levels: levelCount });
    return { events, levels };
  };

  it('is the lowest level with a fragment not finished: a level finished early is passed over, the last level is kept', () => {
    const { events, levels } = started(4, 3);
    events.next(lvl(0, 1));
    events.next(done('a', 0));
    // Level 0 finished; level 1 not announced yet, so not finished.
    expect(levels.at(-1)).toBe(1);
    events.next(lvl(1, 2));
    events.next(done('b', 1));
    events.next(lvl(2, 1));
    events.next(done('d', 2));
    // Level 2 finished, level 1 still has `c`.
    expect(levels.at(-1)).toBe(1);
    events.next(frag('fragment.skipped', 'c', { level: 1, because: 'x' }));
    expect(levels.at(-1)).toBe(2);
    // One value per change of any field; the level, never going down, took these in turn.
    expect([...new Set(levels)]).toEqual([0, 1, 2]);
  });

  it('keeps a level a cancelled fragment did not finish, and follows a level.started without a count as before it had one', () => {
    const { events, levels } = started(2, 2);
    events.next(lvl(0, 2));
    events.next(done('a', 0));
    events.next(frag('fragment.cancelled', 'b', { level: 0, attempts: 1, calls: 1, rowCount: 0, startedAt: 0, durationMs: 1 }));
    expect(levels.at(-1)).toBe(0);

    const legacy = new Subject<ExecutionEvent>();
    const old: number[] = [];
    progressFrom(legacy, 2).subscribe((p) => old.push(p.level));
    legacy.next(lvl(0));
    legacy.next(done('a', 0));
    legacy.next(lvl(1));
    expect([...new Set(old)]).toEqual([0, 1]);
  });
});

describe('run.progress$', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  it('is monotonic and reaches percent 100 on done', async () => {
    let n = 0;
    const src = testSource({ behaviour: (c) => (c.key === 'flaky' && ++n === 1 ? sourceError('reset', true) : [{ k: c.key }]) });
    executor = createExecutor({ sources: { s: src.source }, retry: { initialDelayMs: 1, jitter: 'none' }, cache: false });
    const run = executor.run({
      fragments: [
        { id: 'a', source: 's', query: { key: 'a' } },
        { id: 'b', source: 's', query: { key: 'flaky' } },
        { id: 'c', source: 's', dependsOn: ['a', 'b'], query: { key: 'c' } },
        { id: 'd', source: 's', dependsOn: ['c'], query: { key: 'd' } },
      ],
    });
    const values = lastValueFrom(run.progress$.pipe(toArray()));
    await run.result;
    const seen = await values;
    expectMonotonic(seen);
    expect(seen.length).toBeGreaterThan(5);
    expect(seen.some((p) => p.running > 0)).toBe(true);
    expect(seen.filter((p) => p.percent === 100)).toHaveLength(1);
    expect(seen.at(-1)).toEqual({ total: 4, succeeded: 4, failed: 0, cached: 0, skipped: 0, cancelled: 0, running: 0, level: 2, percent: 100, retries: 1, done: true });
  });

  it('gives a subscriber every change after the value it got on subscribing (a late one too)', async () => {
    const src = testSource();
    executor = createExecutor({ sources: { s: src.source }, cache: false, retry: { attempts: 1 } });
    const run = executor.run({
      fragments: ['a', 'b', 'c'].map((key) => ({ id: key, source: 's', query: { key } })),
      merge: { op: 'union', inputs: ['a', 'b', 'c'] },
    });
    await src.waitForCalls(3);
    // Subscribed mid-run, when nobody had been listening: the first value is the current one…
    const seen: Progress[] = [];
    run.progress$.subscribe((p) => seen.push(p));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ succeeded: 0, running: 3 });
    // …and each settle after it is a value of its own, the first one included.
    for (const [i, call] of src.calls.entries()) {
      call.resolve([{ k: call.key }]);
      await flush();
      expect(seen.at(-1), `after call ${i + 1} settled`).toMatchObject({ succeeded: i + 1 });
    }
    await run.result;
    expect(seen.map((p) => p.succeeded)).toEqual([0, 1, 2, 3, 3]);
    expectMonotonic(seen);
  });

  it('gives a subscriber that subscribes from inside another one\'s callback each value once', async () => {
    const src = testSource();
    executor = createExecutor({ sources: { s: src.source }, cache: false, retry: { attempts: 1 } });
    const run = executor.run({
      fragments: ['a', 'b'].map((key) => ({ id: key, source: 's', query: { key } })),
      merge: { op: 'union', inputs: ['a', 'b'] },
    });
    const inner: Progress[] = [];
    let subscribed = false;
    run.progress$.subscribe((p) => {
      if (p.succeeded !== 1 || subscribed) return;
      subscribed = true;
      run.progress$.subscribe((q) => inner.push(q));
    });
    await src.waitForCalls(2);
    for (const call of src.calls) {
      call.resolve([{ k: call.key }]);
      await flush();
    }
    await run.result;
    expect(inner.map((p) => [p.succeeded, p.percent, p.done])).toEqual([
      [1, 50, false],
      [2, 99, false],
      [2, 100, true],
    ]);
  });

  it('reaches 100 for a partial run, counting the failed and the skipped', async () => {
    const src = testSource({ behaviour: (c) => (c.key === 'bad' ? sourceError('no', false) : [{ k: c.key }]) });
    executor = createExecutor({ sources: { s: src.source }, cache: false });
    const run = executor.run({
      fragments: [
        { id: 'bad', source: 's', query: { key: 'bad' } },
        { id: 'good', source: 's', query: { key: 'good' } },
        { id: 'child', source: 's', dependsOn: ['bad'], query: { key: 'child' } },
      ],
      merge: { op: 'union', inputs: ['good', 'child'] },
      errorPolicy: 'partial',
    });
    const values = lastValueFrom(run.progress$.pipe(toArray()));
    await run.result;
    const seen = await values;
    expectMonotonic(seen);
    expect(seen.at(-1)).toMatchObject({ succeeded: 1, failed: 1, skipped: 1, percent: 100, done: true });
  });

  it('counts the fragments a query deadline failed under fail-fast, as its events, its snapshot and its result do (virtual clock)', async () => {
    const clock = createVirtualClock();
    const timed: SourceExecutor<{ ms: number }> = {
      kind: 'timed',
      querySchema: z.strictObject({ ms: z.number() }) as never,
      execute: (query, ctx) =>
        new Promise<Row[]>((resolve, reject) => {
          const t = clock.setTimeout(() => resolve([{ ms: query.ms }]), query.ms);
          ctx.signal.addEventListener('abort', () => (clock.clearTimeout(t), reject(ctx.signal.reason)), { once: true });
        }),
    };
    executor = createExecutor({ sources: { t: timed }, cache: false, clock });
    const run = executor.run(
      {
        fragments: [
          { id: 'fast', source: 't', query: { ms: 100 } },
          { id: 'slow1', source: 't', query: { ms: 5_000 } },
          { id: 'slow2', source: 't', query: { ms: 5_000 } },
        ],
        merge: { op: 'union', inputs: ['fast', 'slow1', 'slow2'] },
      },
      { deadlineMs: 400 },
    );
    const events: ExecutionEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    const values = lastValueFrom(run.progress$.pipe(toArray()));
    await clock.advanceAsync(400);
    const result = await run.result;
    expect(result.status).toBe('failed');
    expect(result.errors.map((e) => e.code)).toEqual(['TIMEOUT', 'TIMEOUT']);
    expect(events.filter((e) => e.type === 'fragment.failed')).toHaveLength(2);
    const seen = await values;
    expectMonotonic(seen);
    expect(seen.at(-1)).toMatchObject({ total: 3, succeeded: 1, failed: 2, running: 0, done: true });
    expect(run.actor.getSnapshot().context.counts).toMatchObject({ total: 3, succeeded: 1, failed: 2, queued: 0, running: 0 });
  });
});
