import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { AbortWatch, isAborted } from '../../../src/sources/sql/abort-watch.js';
import { SourceCall } from '../../../src/execution/source-call.js';

/** The executor's own call context: `onAbort` and `aborted` answer without its signal. */
class CountingCall extends SourceCall {
  signalReads = 0;
  constructor() {
    super({ kind: 'test', querySchema: z.object({}), execute: () => Promise.resolve([]) }, {}, { params: [], fragmentId: 'f', sourceName: 't', limits: {} });
  }
  override get signal(): AbortSignal {
    this.signalReads++;
    return super.signal;
  }
}

describe('AbortWatch on the executor’s call context', () => {
  it('never creates the signal of a call that ends unaborted', () => {
    const call = new CountingCall();
    const onAbort = vi.fn();
    const watch = new AbortWatch(call, onAbort);
    watch.stop();
    call.abort(new Error('late'));
    expect(call.signalReads).toBe(0);
    expect(onAbort).not.toHaveBeenCalled();
  });

  it('delivers the abort at once, once, with its reason, still without a signal', () => {
    const call = new CountingCall();
    const onAbort = vi.fn();
    new AbortWatch(call, onAbort);
    const reason = new Error('cancelled');
    call.abort(reason);
    call.abort(new Error('again'));
    expect(onAbort).toHaveBeenCalledTimes(1);
    expect(onAbort).toHaveBeenCalledWith(reason);
    expect(isAborted(call)).toBe(true);
    expect(call.signalReads).toBe(0);
  });

  it('calls back at once for a call aborted already', () => {
    const call = new CountingCall();
    const reason = new Error('too late');
    call.abort(reason);
    const onAbort = vi.fn();
    new AbortWatch(call, onAbort);
    expect(onAbort).toHaveBeenCalledWith(reason);
  });

  it('tells each of several watches, and only those not stopped', () => {
    const call = new CountingCall();
    const a = vi.fn();
    const b = vi.fn();
    const c = vi.fn();
    new AbortWatch(call, a);
    const stopped = new AbortWatch(call, b);
    new AbortWatch(call, c);
    stopped.stop();
    call.abort(new Error('stop'));
    expect(a).toHaveBeenCalledTimes(1);
    expect(b).not.toHaveBeenCalled();
    expect(c).toHaveBeenCalledTimes(1);
  });

  it('fires the signal too, for a connector that reads it', () => {
    const call = new CountingCall();
    const signal = call.signal;
    new AbortWatch(call, () => undefined);
    call.abort(new Error('stop'));
    expect(signal.aborted).toBe(true);
  });
});

describe('AbortWatch on a foreign context (a signal only)', () => {
  it('listens to the signal at once and stops listening when stopped', () => {
    const controller = new AbortController();
    const onAbort = vi.fn();
    const watch = new AbortWatch({ params: [], signal: controller.signal }, onAbort);
    const reason = new Error('cancelled');
    controller.abort(reason);
    expect(onAbort).toHaveBeenCalledWith(reason);

    const other = new AbortController();
    const never = vi.fn();
    new AbortWatch({ params: [], signal: other.signal }, never).stop();
    other.abort(new Error('after stop'));
    expect(never).not.toHaveBeenCalled();
    watch.stop();
  });

  it('calls back at once when the signal was aborted already', () => {
    const onAbort = vi.fn();
    const reason = new Error('gone');
    new AbortWatch({ params: [], signal: AbortSignal.abort(reason) }, onAbort);
    expect(onAbort).toHaveBeenCalledWith(reason);
  });
});
