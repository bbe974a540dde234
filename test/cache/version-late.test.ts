import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, createVirtualClock, type ExecutionEvent, type Row, type SourceExecutor } from '../../src/index.js';
import { settles } from '../support/hanging-source.js';

// A cache key needs the source's version(). One that does not answer (a custom lookup that
// hangs; MySQL's SELECT VERSION() queued behind statements holding every pooled connection)
// held each cached fragment before its first attempt, past every timeout, for good.

function lateVersion(version: () => Promise<string>) {
  let calls = 0;
  const source: SourceExecutor = {
    kind: 'late-version',
    querySchema: z.unknown(),
    version,
    execute: () => Promise.resolve<Row[]>([{ call: ++calls }]),
  };
  return { source, calls: () => calls };
}

const plan = { id: 'late', fragments: [{ id: 'a', source: 's', query: {} }] };

describe('a source whose version() is late', () => {
  it("is waited for at most the fragment's timeout; then the run calls the source without the cache", async () => {
    const clock = createVirtualClock();
    const s = lateVersion(() => new Promise<string>(() => undefined));
    const executor = createExecutor({ sources: { s: s.source }, clock, timeoutMs: 100 });
    const run = executor.run(plan);
    const events: ExecutionEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    await clock.advanceAsync(99);
    expect(s.calls()).toBe(0);
    await clock.advanceAsync(1);
    expect(await settles(run.result)).toBe(true);
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.rows).toEqual([{ call: 1 }]);
    expect(events.find((e) => e.type === 'cache.unavailable')).toMatchObject({ fragmentId: 'a', reason: 'the version of source "s" did not answer within 100 ms' });
    // Nothing was stored under a guessed key: the next run asks again.
    expect(executor.cache.stats().entries).toBe(0);
    expect(clock.pending()).toBe(0);
    await executor.close();
  });

  it('leaves no timer behind when the version answers in time, nor when the run is cancelled while it waits', async () => {
    const clock = createVirtualClock();
    let answer!: (v: string) => void;
    const s = lateVersion(() => new Promise<string>((resolve) => (answer = resolve)));
    const executor = createExecutor({ sources: { s: s.source }, clock, timeoutMs: 100 });
    const first = executor.run(plan);
    await clock.advanceAsync(10);
    answer('v1');
    expect((await first.result).fragments.a!.cached).toBe(false);
    expect(executor.cache.stats().entries).toBe(1);
    expect(clock.pending()).toBe(0);

    const cancelled = executor.run(plan);
    await clock.advanceAsync(10);
    cancelled.cancel();
    await expect(cancelled.result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(clock.pending()).toBe(0);
    await executor.close();
  });
});
