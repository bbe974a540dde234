import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, sqliteRunStore, type Executor } from '../../src/index.js';
import { hanging, settles } from '../support/hanging-source.js';

// A run refused by its principal's quota is refused whole: an asynchronous `authorize`
// decision already asked for it is not left to reject unhandled (which ends a Node process),
// and a durable run refused leaves nothing in the run store.

const plan = { id: 'q', fragments: [{ id: 'a', source: 'h', query: { name: 'a' } }] };
const alice = { id: 'alice' };

describe('quota refusals', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  let executor: Executor | undefined;
  afterEach(async () => {
    process.off('unhandledRejection', onUnhandled);
    unhandled.length = 0;
    await executor?.close();
  });

  it('under an asynchronous authorize rule that refuses, leave no unhandled rejection', async () => {
    process.on('unhandledRejection', onUnhandled);
    const h = hanging();
    executor = createExecutor({ sources: { h: h.source }, quotas: { maxRunningQueries: 1 }, authorize: () => Promise.resolve('not today') });
    const first = executor.run(plan, { principal: alice });
    expect(() => executor!.run(plan, { principal: alice })).toThrow(expect.objectContaining({ code: 'QUOTA_EXCEEDED' }) as unknown as Error);
    await expect(first.result).rejects.toMatchObject({ code: 'FORBIDDEN' });
    for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
    expect(h.calls).toEqual([]);
  });

  it('of a durable run leave no stored run behind, and the running one keeps its slot', async () => {
    const h = hanging();
    executor = createExecutor({ sources: { h: h.source }, quotas: { maxRunningQueries: 1 }, runStore: sqliteRunStore({ file: ':memory:' }) });
    const first = executor.run(plan, { principal: alice, runId: 'first' });
    expect(() => executor!.run(plan, { principal: alice, runId: 'second' })).toThrow(expect.objectContaining({ code: 'QUOTA_EXCEEDED' }) as unknown as Error);
    const ids = async () => (await executor!.runs({ principal: alice })).map((r) => r.runId);
    expect(await ids()).toEqual(['first']);
    first.cancel();
    expect(await settles(first.result)).toBe(true);
    // The refused id was never taken: it can be run once the slot is free.
    const second = executor.run(plan, { principal: alice, runId: 'second' });
    second.cancel();
    expect(await settles(second.result)).toBe(true);
  });
});

describe('quota books', () => {
  it('keep a principal whose id is "anonymous" apart from anonymous runs', async () => {
    const h = hanging();
    const executor = createExecutor({ sources: { h: h.source }, quotas: { maxRunningQueries: 1, maxFragmentsPerMinute: 1 } });
    const anonymous = executor.run(plan);
    const named = executor.run(plan, { principal: { id: 'anonymous' } });
    expect(() => executor.run(plan)).toThrow(expect.objectContaining({ code: 'QUOTA_EXCEEDED' }) as unknown as Error);
    expect(() => executor.run(plan, { principal: { id: 'anonymous' } })).toThrow(expect.objectContaining({ code: 'QUOTA_EXCEEDED' }) as unknown as Error);
    anonymous.cancel();
    named.cancel();
    expect(await settles(executor.close())).toBe(true);
  });
});
