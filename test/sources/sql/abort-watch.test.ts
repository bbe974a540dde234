import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { AbortWatch, isAborted } from '../../../src/sources/sql/abort-watch.js';
import { SourceCall } from '../../../src/execution/source-call.js';
import type { ExecuteContext } from '../../../src/sources/source.js';

/** A context like tributary's own (SourceCall): `aborted` answers without the signal, made on first read. */
class LazyContext implements ExecuteContext {
  params: unknown[] = [];
  signalReads = 0;
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;
  get signal(): AbortSignal {
    this.signalReads++;
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }
  get aborted(): boolean {
    return this.#aborted;
  }
  abort(reason: unknown): void {
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

describe('AbortWatch', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => {
    // Let the shared timer run dry (every watch armed or stopped) before real timers return.
    vi.runAllTimers();
    vi.useRealTimers();
  });

  it('never creates the signal of a call that ends within its first tick', () => {
    const ctx = new LazyContext();
    const onAbort = vi.fn();
    const watch = new AbortWatch(ctx, onAbort);
    watch.stop();
    vi.advanceTimersByTime(10);
    ctx.abort(new Error('late'));
    expect(ctx.signalReads).toBe(0);
    expect(onAbort).not.toHaveBeenCalled();
  });

  it('delivers an abort that came before the call was armed, at the tick that arms it', () => {
    const ctx = new LazyContext();
    const onAbort = vi.fn();
    new AbortWatch(ctx, onAbort);
    const reason = new Error('cancelled');
    ctx.abort(reason);
    expect(onAbort).not.toHaveBeenCalled();
    vi.advanceTimersByTime(2);
    expect(onAbort).toHaveBeenCalledTimes(1);
    expect(onAbort).toHaveBeenCalledWith(reason);
  });

  it('listens to the signal of a call that outlives a whole tick: the abort arrives at once, once', () => {
    const ctx = new LazyContext();
    const onAbort = vi.fn();
    const watch = new AbortWatch(ctx, onAbort);
    vi.advanceTimersByTime(2);
    expect(ctx.signalReads).toBeGreaterThan(0);
    const reason = new Error('timeout');
    ctx.abort(reason);
    expect(onAbort).toHaveBeenCalledWith(reason);
    watch.stop();
    ctx.abort(new Error('again'));
    expect(onAbort).toHaveBeenCalledTimes(1);
  });

  it('arms only the calls registered before the last tick, not every call in flight', () => {
    const first = new LazyContext();
    new AbortWatch(first, () => undefined);
    vi.advanceTimersByTime(1); // a tick: `first` has now waited through it
    const second = new LazyContext();
    new AbortWatch(second, () => undefined);
    vi.advanceTimersByTime(1);
    expect(first.signalReads).toBeGreaterThan(0);
    expect(second.signalReads).toBe(0);
  });

  it('stops listening when stopped after arming', () => {
    const ctx = new LazyContext();
    const onAbort = vi.fn();
    new AbortWatch(ctx, onAbort).stop();
    const armed = new AbortWatch(ctx, onAbort);
    vi.advanceTimersByTime(2);
    expect(ctx.signalReads).toBeGreaterThan(0);
    armed.stop();
    ctx.abort(new Error('after'));
    expect(onAbort).not.toHaveBeenCalled();
  });

  it('calls back at once for a call aborted already, and listens at once on a foreign context', () => {
    const aborted = new LazyContext();
    const reason = new Error('before');
    aborted.abort(reason);
    const early = vi.fn();
    new AbortWatch(aborted, early);
    expect(early).toHaveBeenCalledWith(reason);

    const controller = new AbortController();
    const foreign: ExecuteContext = { params: [], signal: controller.signal };
    const onAbort = vi.fn();
    new AbortWatch(foreign, onAbort);
    controller.abort('now');
    expect(onAbort).toHaveBeenCalledWith('now');
    expect(isAborted(foreign)).toBe(true);
  });

  it('works with the executor’s own call context (SourceCall) without touching its signal', () => {
    const call = new SourceCall({ kind: 'test', querySchema: z.object({}), execute: () => Promise.resolve([]) }, {}, { params: [], fragmentId: 'f', limits: {} });
    const onAbort = vi.fn();
    const watch = new AbortWatch(call, onAbort);
    expect(isAborted(call)).toBe(false);
    const reason = new Error('stop');
    call.abort(reason);
    expect(isAborted(call)).toBe(true);
    vi.advanceTimersByTime(2);
    expect(onAbort).toHaveBeenCalledWith(reason);
    watch.stop();
  });
});

describe('AbortWatch under swapped timers', () => {
  it('plans a new tick when the planned one never came (fake timers swapped out under it)', () => {
    vi.useFakeTimers();
    const first = new LazyContext();
    const onFirst = vi.fn();
    const watch = new AbortWatch(first, onFirst);
    // The tick was planned on this clock; it is thrown away with it.
    vi.useRealTimers();
    vi.useFakeTimers();
    try {
      vi.advanceTimersByTime(5000);
      const second = new LazyContext();
      const onSecond = vi.fn();
      new AbortWatch(second, onSecond);
      first.abort(new Error('first'));
      second.abort(new Error('second'));
      vi.advanceTimersByTime(3);
      expect(onFirst).toHaveBeenCalledTimes(1);
      expect(onSecond).toHaveBeenCalledTimes(1);
      watch.stop();
      vi.runAllTimers();
    } finally {
      vi.useRealTimers();
    }
  });
});
