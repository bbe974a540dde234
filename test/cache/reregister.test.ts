import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisStore } from '../../src/cache/index.js';
import { createExecutor, memorySource, type Executor, type Row } from '../../src/index.js';
import { describeRedis, dropNamespace, inspectClient, REDIS_URL, uniqueNamespace } from '../support/redis.js';
import { onePlan, probeSource, until } from './helpers.js';

/*
 * A name means the source registered under it now: after unregister('db') and
 * register('db', another), no run is served the rows the first source gave — from this
 * process's cache, from Redis, or by joining a load of the first source still running.
 * Both sources answer the same version() (memorySource's default), so only the drop helps.
 */
const tenant = (name: string): ReturnType<typeof memorySource> => memorySource({ tables: { t: [{ tenant: name }] } });
const plan = onePlan('db', { table: 't' });

describe('re-registering a source name drops its cached rows', () => {
  const open: Executor[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((e) => e.close()));
  });

  it('in-process cache: the new source is called, and its rows are cached from then on', async () => {
    const e = createExecutor({ sources: { db: tenant('A') } });
    open.push(e);
    expect((await e.execute(plan)).rows).toEqual([{ tenant: 'A' }]);
    expect((await e.execute(plan)).fragments.f!.cached).toBe(true);
    e.unregister('db');
    expect(e.cache.stats().entries).toBe(0);
    e.register('db', tenant('B'));
    const after = await e.execute(plan);
    expect(after.rows).toEqual([{ tenant: 'B' }]);
    expect(after.fragments.f!.cached).toBe(false);
    const again = await e.execute(plan);
    expect(again.rows).toEqual([{ tenant: 'B' }]);
    expect(again.fragments.f!.cached).toBe(true);
  });

  it('a load of the unregistered source still running is neither joined nor stored', async () => {
    const old = probeSource({ answer: () => 'wait' });
    const e = createExecutor({ sources: { db: old.source } });
    open.push(e);
    const first = e.run(plan);
    await until(() => old.calls.length === 1);
    e.unregister('db');
    const fresh = probeSource({ answer: () => [{ tenant: 'B' }] });
    e.register('db', fresh.source);
    const second = await e.execute(plan);
    expect(second.rows).toEqual([{ tenant: 'B' }]);
    expect(fresh.calls).toHaveLength(1);
    old.calls[0]!.resolve([{ tenant: 'A' }] as Row[]);
    expect((await first.result).rows).toEqual([{ tenant: 'A' }]);
    expect((await e.execute(plan)).rows).toEqual([{ tenant: 'B' }]);
  });
});

describeRedis('re-registering a source name drops its rows from Redis too', () => {
  let inspector: Redis;
  const namespace = uniqueNamespace();
  const open: Executor[] = [];
  beforeAll(() => {
    inspector = inspectClient();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((e) => e.close()));
    await dropNamespace(inspector, namespace);
  });
  afterAll(() => {
    inspector.disconnect();
  });

  it('a run right after register() is not served the old source\'s entry from Redis', async () => {
    const e = createExecutor({ sources: { db: tenant('A') }, cache: { store: redisStore({ url: REDIS_URL, namespace, timeoutMs: 1000 }) } });
    open.push(e);
    expect((await e.execute(plan)).rows).toEqual([{ tenant: 'A' }]);
    await vi.waitFor(async () => expect(await inspector.keys(`tributary:${namespace}:e:*`)).toHaveLength(1));
    e.unregister('db');
    e.register('db', tenant('B'));
    // No wait: the Redis deletion may still be on its way.
    const after = await e.execute(plan);
    expect(after.rows).toEqual([{ tenant: 'B' }]);
    expect(after.fragments.f!.cached).toBe(false);
    // Once the new rows are written, another instance on the namespace is served them from Redis.
    await vi.waitFor(() => expect(e.cache.stats().store).toMatchObject({ writes: 2 }));
    const other = createExecutor({ sources: { db: tenant('C') }, cache: { store: redisStore({ url: REDIS_URL, namespace, timeoutMs: 1000 }) } });
    open.push(other);
    const served = await other.execute(plan);
    expect(served.rows).toEqual([{ tenant: 'B' }]);
    expect(served.fragments.f!.cached).toBe(true);
  });
});
