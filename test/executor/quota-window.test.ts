import { describe, expect, it } from 'vitest';
import { createExecutor, createVirtualClock, memorySource } from '../../src/index.js';

describe('quota windows on the virtual clock', () => {
  it('refuses fragments over maxFragmentsPerMinute until the minute has passed, per principal', async () => {
    const clock = createVirtualClock();
    const executor = createExecutor({ sources: { mem: memorySource({ tables: { t: [{ id: 1 }] } }) }, quotas: { maxFragmentsPerMinute: 3 }, cache: false, clock });
    const plan = (n: number) => {
      const fragments = Array.from({ length: n }, (_, i) => ({ id: `f${i}`, source: 'mem', query: { table: 't' } }));
      return { fragments, merge: { op: 'union' as const, inputs: fragments.map((f) => f.id) } };
    };
    const alice = { id: 'alice' };
    try {
      expect((await executor.execute(plan(2), { principal: alice })).status).toBe('ok');
      await clock.advanceAsync(30_000);
      expect(() => executor.run(plan(2), { principal: alice })).toThrow(expect.objectContaining({ code: 'QUOTA_EXCEEDED' }));
      // Another principal has its own window.
      expect((await executor.execute(plan(3), { principal: { id: 'bob' } })).status).toBe('ok');
      await clock.advanceAsync(29_999);
      expect(() => executor.run(plan(2), { principal: alice })).toThrow(expect.objectContaining({ code: 'QUOTA_EXCEEDED' }));
      // A minute after alice's first run, its two fragments leave the window.
      await clock.advanceAsync(1);
      expect((await executor.execute(plan(3), { principal: alice })).status).toBe('ok');
    } finally {
      await executor.close();
    }
  });
});

describe('maxFragmentsPerMinute counts fragments that may start', () => {
  const plan = { id: 'one', fragments: [{ id: 'a', source: 'mem', query: { table: 't' } }] };
  const alice = { id: 'alice' };

  it('gives back the fragments of a run that never started (refused by an asynchronous rule, cancelled first)', async () => {
    const clock = createVirtualClock();
    let allow = false;
    const executor = createExecutor({
      sources: { mem: memorySource({ tables: { t: [{ id: 1 }] } }) },
      quotas: { maxFragmentsPerMinute: 2 },
      authorize: () => Promise.resolve(allow || 'not yet'),
      cache: false,
      clock,
    });
    try {
      // A synchronous refusal never counted; an asynchronous one must not either.
      for (let i = 0; i < 3; i++) await expect(executor.execute(plan, { principal: alice })).rejects.toMatchObject({ code: 'FORBIDDEN' });
      allow = true;
      for (let i = 0; i < 3; i++) {
        const run = executor.run(plan, { principal: alice });
        run.cancel();
        await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
      }
      expect((await executor.execute(plan, { principal: alice })).status).toBe('ok');
      expect((await executor.execute(plan, { principal: alice })).status).toBe('ok');
      expect(() => executor.run(plan, { principal: alice })).toThrow(expect.objectContaining({ code: 'QUOTA_EXCEEDED' }));
    } finally {
      await executor.close();
    }
  });
});
