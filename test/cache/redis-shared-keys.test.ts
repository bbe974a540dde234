import { Queue } from 'bullmq';
import { afterEach, expect, it } from 'vitest';
import { createExecutor, createWorker, memorySource, redisRunStore, redisStore, type Executor, type RemoteWorker, type Row, type SourceExecutor } from '../../src/index.js';
import { describeRedis, dropKeys, inspectClient, REDIS_URL, uniqueNamespace } from '../support/redis.js';

/*
 * The cache, the run store and the remote queue share one Redis and the `tributary:` key
 * space. A cache namespace named like a queue (`tributary:<queue>:…`) or like the run store's
 * prefix (its default is `tributary:runs:`) must not make `invalidate({})` take their keys:
 * it drops the cache's own kinds of key (entries, source and tag indexes), nothing else.
 */
describeRedis('invalidate({}) and the other users of the namespace\'s key space', () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  it('keeps the stored runs of a run store whose prefix is the namespace\'s: the run still resumes', async () => {
    const namespace = uniqueNamespace();
    const prefix = `tributary:${namespace}:`;
    closers.push(() => dropKeys(prefix));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const slow: SourceExecutor = { ...memorySource({ tables: {} }), execute: async (): Promise<Row[]> => (await held, [{ late: 2 }]) };
    const sources = { m: memorySource({ tables: { t: [{ early: 1 }] } }), slow };
    const plan = { fragments: [{ id: 'a', source: 'm', query: { table: 't' } }, { id: 'b', source: 'slow', query: { table: 'x' } }], merge: { op: 'union', inputs: ['a', 'b'] } };
    const executor: Executor = createExecutor({ sources, runStore: redisRunStore({ url: REDIS_URL, prefix }), cache: { store: redisStore({ url: REDIS_URL, namespace, timeoutMs: 1000 }) } });
    closers.push(() => executor.close());

    const run = executor.run(plan, { runId: 'nightly', principal: { id: 'alice' } });
    await expect.poll(async () => (await executor.runs({ principal: { id: 'alice' } }))[0]?.stored, { timeout: 5000, interval: 10 }).toBe(1);
    run.cancel('deploy');
    await run.result.catch(() => undefined);
    release();

    expect(await executor.cache.invalidate({})).toMatchObject({ shared: expect.any(Number) });
    expect(await executor.runs({ principal: { id: 'alice' } })).toEqual([expect.objectContaining({ runId: 'nightly', state: 'interrupted', stored: 1 })]);
    const resumed = await executor.resume('nightly', { principal: { id: 'alice' } });
    const result = await resumed.result;
    expect(result.fragments.a!.cached).toBe(true);
    expect(result.rows).toEqual([{ early: 1, late: null }, { early: null, late: 2 }]);
  });

  it('keeps the keys of a remote queue named like the namespace (the workers\' roster among them)', async () => {
    const namespace = uniqueNamespace();
    const inspector = inspectClient();
    closers.push(async () => inspector.disconnect());
    closers.push(() => dropKeys(`tributary:${namespace}:`));
    const sources = { m: memorySource({ tables: { t: [{ a: 1 }] } }) };
    const worker: RemoteWorker = createWorker({ sources, connection: REDIS_URL, queue: namespace });
    closers.push(async () => {
      await worker.close();
      const queue = new Queue(namespace, { connection: { url: REDIS_URL } });
      await queue.obliterate({ force: true });
      await queue.close();
    });
    const roster = `tributary:${namespace}:serves:m`;
    await expect.poll(() => inspector.exists(roster), { timeout: 5000, interval: 10 }).toBe(1);
    const executor = createExecutor({ sources, remote: { connection: REDIS_URL, queue: namespace }, cache: { store: redisStore({ url: REDIS_URL, namespace, timeoutMs: 1000 }) } });
    closers.push(() => executor.close());
    const plan = { fragments: [{ id: 'a', source: 'm', query: { table: 't' } }] };
    expect((await executor.execute(plan)).rows).toEqual([{ a: 1 }]);
    await expect.poll(() => inspector.keys(`tributary:${namespace}:e:*`), { timeout: 2000, interval: 10 }).toHaveLength(1);

    expect(await executor.cache.invalidate({})).toEqual({ local: 1, shared: 1 });
    expect(await inspector.keys(`tributary:${namespace}:e:*`)).toEqual([]);
    expect(await inspector.keys(`tributary:${namespace}:source:*`)).toEqual([]);
    expect(await inspector.exists(roster)).toBe(1);
  });
});
