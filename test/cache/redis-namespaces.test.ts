import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { redisStore } from '../../src/cache/index.js';
import { createExecutor, type Executor } from '../../src/index.js';
import { describeRedis, inspectClient, REDIS_URL, uniqueNamespace } from '../support/redis.js';
import { onePlan, probeSource, type Probe } from './helpers.js';

describeRedis('redisStore: namespaces never overlap', () => {
  let inspector: Redis;
  const executors: Executor[] = [];
  const base = uniqueNamespace();

  beforeAll(() => {
    inspector = inspectClient();
  });
  afterEach(async () => {
    await Promise.all(executors.splice(0).map((e) => e.close()));
    const keys = await inspector.keys(`tributary:${base}*`);
    if (keys.length > 0) await inspector.del(...keys);
  });
  afterAll(() => {
    inspector.disconnect();
  });

  function instance(namespace: string): { executor: Executor; probe: Probe; prefix: string } {
    const probe = probeSource();
    const store = redisStore({ url: REDIS_URL, namespace, timeoutMs: 1000 });
    const executor = createExecutor({ sources: { p: probe.source }, cache: { store } });
    executors.push(executor);
    return { executor, probe, prefix: store.prefix };
  }
  const entries = (prefix: string): Promise<string[]> => inspector.keys(`${prefix}e:*`);

  it('invalidate({}) on "a" leaves the entries of "a:sub", and the other way round', async () => {
    const parent = instance(base);
    const child = instance(`${base}:sub`);
    const odd = instance(`${base}%3Asub`);
    const plan = onePlan('p', { table: 't' });
    for (const i of [parent, child, odd]) await i.executor.execute(plan, { principal: { id: 'alice' } });
    await vi.waitFor(async () => {
      for (const i of [parent, child, odd]) expect(await entries(i.prefix)).toHaveLength(1);
    });

    expect(await parent.executor.cache.invalidate({})).toMatchObject({ shared: 1 });
    expect(await entries(parent.prefix)).toHaveLength(0);
    expect(await entries(child.prefix)).toHaveLength(1);
    expect(await entries(odd.prefix)).toHaveLength(1);
    // A fresh instance of "a:sub" is still served from Redis.
    const again = instance(`${base}:sub`);
    const served = await again.executor.execute(plan, { principal: { id: 'alice' } });
    expect(served.fragments.f!.cached).toBe(true);
    expect(again.probe.calls).toHaveLength(0);

    expect(await child.executor.cache.invalidate({})).toMatchObject({ shared: 1 });
    expect(await entries(child.prefix)).toHaveLength(0);
    expect(await entries(odd.prefix)).toHaveLength(1);
    // How: a ':' (and '%') in a namespace is escaped in keys; one without them is written as is.
    expect(parent.prefix).toBe(`tributary:${base}:`);
    expect(child.prefix).toBe(`tributary:${base}%3Asub:`);
    expect(odd.prefix).toBe(`tributary:${base}%253Asub:`);
  });
});
