import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, type Executor } from '../../src/index.js';
import { testSource } from '../support/engine.js';

/** A service hands one signal (its shutdown, a request's) to many runs at once. */
describe('one caller AbortSignal shared by many runs', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  const plan = (key: string) => ({ fragments: [{ id: 'a', source: 's', query: { key } }] });

  it('holds one abort listener on the signal however many runs share it, and none once they end', async () => {
    const src = testSource();
    executor = createExecutor({ sources: { s: src.source }, cache: false, concurrency: 100 });
    const shared = new AbortController();
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const runs = Array.from({ length: 25 }, (_, i) => executor!.run(plan(`k${i}`), { signal: shared.signal }));
      await src.waitForCalls(25);
      // One listener per run would be 25, and Node's MaxListenersExceededWarning from the 11th.
      expect(getEventListeners(shared.signal, 'abort')).toHaveLength(1);
      // A run that ends leaves the others listening.
      src.calls[0]!.resolve([{ x: 1 }]);
      await runs[0]!.result;
      expect(getEventListeners(shared.signal, 'abort')).toHaveLength(1);
      for (const call of src.calls.slice(1, 24)) call.resolve([{ x: 1 }]);
      await Promise.all(runs.slice(1, 24).map((r) => r.result));
      expect(getEventListeners(shared.signal, 'abort')).toHaveLength(1);
      src.calls[24]!.resolve([{ x: 1 }]);
      await runs[24]!.result;
      expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('cancels every run still listening when the signal aborts, and the next runs listen afresh', async () => {
    const src = testSource();
    executor = createExecutor({ sources: { s: src.source }, cache: false, concurrency: 100 });
    const shared = new AbortController();
    const runs = Array.from({ length: 12 }, (_, i) => executor!.run(plan(`k${i}`), { signal: shared.signal }));
    await src.waitForCalls(12);
    src.calls[0]!.resolve([{ x: 1 }]);
    await runs[0]!.result;
    shared.abort(new Error('shutting down'));
    const outcomes = await Promise.allSettled(runs.slice(1).map((r) => r.result));
    for (const o of outcomes) expect(o).toMatchObject({ status: 'rejected', reason: { code: 'CANCELLED', message: 'the query was cancelled: shutting down' } });
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);

    const next = new AbortController();
    const later = [executor.run(plan('x'), { signal: next.signal }), executor.run(plan('y'), { signal: next.signal })];
    await src.waitForCalls(14);
    expect(getEventListeners(next.signal, 'abort')).toHaveLength(1);
    next.abort();
    for (const o of await Promise.allSettled(later.map((r) => r.result))) expect(o).toMatchObject({ status: 'rejected', reason: { code: 'CANCELLED' } });
  });
});
