import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, redisStore, type Executor, type Row } from '../../src/index.js';
import { describeRedis, dropNamespace, inspectClient, REDIS_URL, uniqueNamespace } from '../support/redis.js';
import { onePlan, probeSource } from './helpers.js';

let executor: Executor | undefined;
afterEach(async () => {
  await executor?.close();
  executor = undefined;
});

/** Tries every way a caller might change the rows it was given; each may throw. */
function tamper(rows: Row[]): void {
  const attempts: (() => void)[] = [
    () => void (rows[0]!.name = 'mallory'),
    () => void delete rows[0]!.id,
    () => void (rows[0]!.extra = 'added'),
    () => void (rows[0]!.tags as string[]).push('evil'),
    () => void ((rows[0]!.meta as { level: number }).level = 99),
    () => void ((rows[0]!.meta as { nested: { deep: string } }).nested.deep = 'changed'),
  ];
  for (const attempt of attempts) {
    try {
      attempt();
    } catch {
      // a frozen row refuses the change: what matters is what the other callers see
    }
  }
}

const ROW = { id: 1, name: 'ada', tags: ['a'], meta: { level: 1, nested: { deep: 'x' } } };
/** A fresh copy of the row a source answers, each call. */
const fresh = (): Row[] => [structuredClone(ROW)];

describe('cached and shared rows cannot be changed by one caller for another', () => {
  it('a caller changing the rows of its result (the load that stored them, then a hit) leaves the next hit as stored', async () => {
    const probe = probeSource({ answer: fresh });
    executor = createExecutor({ sources: { p: probe.source } });
    const plan = onePlan('p', { table: 't' });
    const first = await executor.execute(plan);
    tamper(first.rows);
    const second = await executor.execute(plan);
    expect(second.fragments.f!.cached).toBe(true);
    expect(second.rows).toEqual([ROW]);
    tamper(second.rows);
    const third = await executor.execute(plan);
    expect(third.fragments.f!.cached).toBe(true);
    expect(third.rows).toEqual([ROW]);
    expect(probe.calls).toHaveLength(1);
  });

  it('two runs sharing one load in flight: one changing its rows does not change the other\'s', async () => {
    const probe = probeSource({ answer: () => 'wait' });
    executor = createExecutor({ sources: { p: probe.source } });
    const plan = onePlan('p', { table: 't' });
    const a = executor.run(plan);
    const b = executor.run(plan);
    for (let i = 0; i < 50 && probe.calls.length === 0; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    expect(probe.calls).toHaveLength(1);
    probe.calls[0]!.resolve(fresh());
    const ra = await a.result;
    tamper(ra.rows);
    const rb = await b.result;
    expect(executor.cache.stats().inflightShared).toBe(1);
    expect(rb.rows).toEqual([ROW]);
  });

  it('caching leaves a memory source\'s own rows as they were: not frozen, still the caller\'s to change', async () => {
    const table: Row[] = [structuredClone(ROW)];
    executor = createExecutor({ sources: { m: memorySource({ tables: { t: table } }) } });
    const plan = onePlan('m', { table: 't' });
    await executor.execute(plan);
    expect((await executor.execute(plan)).fragments.f!.cached).toBe(true);
    expect(Object.isFrozen(table[0])).toBe(false);
    expect(Object.isFrozen(table[0]!.meta)).toBe(false);
    table[0]!.name = 'changed by its owner';
    expect(table[0]!.name).toBe('changed by its owner');
  });

  it('a JSON column nested 100,000 levels deep is stored and served frozen, not a stack overflow', async () => {
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const probe = probeSource({ answer: () => [{ id: 1, deep }] });
    executor = createExecutor({ sources: { p: probe.source } });
    const plan = onePlan('p', { table: 't' });
    const first = await executor.execute(plan);
    expect(first.status).toBe('ok');
    const second = await executor.execute(plan);
    expect(second.fragments.f!.cached).toBe(true);
    expect(second.rows[0]!.deep === deep).toBe(false); // the cache's own copy (compared by hand: vitest would print it)
    let level = second.rows[0]!.deep as unknown[];
    let levels = 0;
    while (level.length > 0) {
      expect(Object.isFrozen(level)).toBe(true);
      level = level[0] as unknown[];
      levels++;
    }
    expect(levels).toBe(100_000);
  });
});

describeRedis('rows served from Redis', () => {
  it('are frozen like the first level\'s: a caller changing them leaves the next hit as stored', async () => {
    const namespace = uniqueNamespace();
    const inspector = inspectClient();
    const writer = createExecutor({ sources: { p: probeSource({ answer: fresh }).source }, cache: { store: redisStore({ url: REDIS_URL, namespace, timeoutMs: 1000 }) } });
    const reader = createExecutor({ sources: { p: probeSource({ answer: fresh }).source }, cache: { store: redisStore({ url: REDIS_URL, namespace, timeoutMs: 1000 }) } });
    try {
      const plan = onePlan('p', { table: 't' });
      await writer.execute(plan);
      await writer.close();
      const fromRedis = await reader.execute(plan);
      expect(fromRedis.fragments.f!.cached).toBe(true);
      expect(reader.cache.stats().store).toMatchObject({ hits: 1 });
      tamper(fromRedis.rows);
      const fromMemory = await reader.execute(plan);
      expect(fromMemory.fragments.f!.cached).toBe(true);
      expect(fromMemory.rows).toEqual([ROW]);
    } finally {
      await writer.close();
      await reader.close();
      await dropNamespace(inspector, namespace);
      inspector.disconnect();
    }
  });
});
