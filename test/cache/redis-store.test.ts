import { deserialize } from 'node:v8';
import { gunzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it, vi } from 'vitest';
import { cacheKey, redisStore, type RedisStore } from '../../src/cache/index.js';
import { encodeEntry } from '../../src/cache/codec.js';
import { createExecutor, type ExecutionEvent, type Executor, type Row } from '../../src/index.js';
import { blackhole, describeRedis, dropNamespace, freezableProxy, inspectClient, REDIS_URL, uniqueNamespace } from '../support/redis.js';
import { collect, onePlan, probeSource, type Probe } from './helpers.js';

describeRedis('redisStore: the shared second level', () => {
  let inspector: Redis;
  let namespace: string;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(() => {
    inspector = inspectClient();
  });
  afterAll(() => {
    inspector.disconnect();
  });
  beforeEach(() => {
    namespace = uniqueNamespace();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await dropNamespace(inspector, namespace);
  });

  /** An executor on a fresh probe source and a store of the test's namespace. */
  function instance(options: { probe?: Probe; store?: Partial<Parameters<typeof redisStore>[0]>; ttlMs?: number } = {}): { executor: Executor; probe: Probe; store: RedisStore } {
    const probe = options.probe ?? probeSource();
    // A generous wait by default: these tests are about what is served, not about how
    // long a loaded machine takes to connect; the ones about the bounded wait set their own.
    const store = redisStore({ url: REDIS_URL, namespace, timeoutMs: 1000, ...options.store });
    const executor = createExecutor({ sources: { p: probe.source }, cache: { store, ...(options.ttlMs ? { ttlMs: options.ttlMs } : {}) } });
    cleanups.push(() => executor.close());
    return { executor, probe, store };
  }

  const entryKeys = (): Promise<string[]> => inspector.keys(`tributary:${namespace}:e:*`);
  const waitForEntries = (n: number): Promise<void> => vi.waitFor(async () => expect(await entryKeys()).toHaveLength(n), { timeout: 2000, interval: 5 });

  it('serves a second executor from Redis: its source is not called, the fragment is cached', async () => {
    const a = instance();
    const b = instance();
    const plan = onePlan('p', { table: 't' });
    const alice = { principal: { id: 'alice' } };
    const first = await a.executor.execute(plan, alice);
    await waitForEntries(1);

    const run = b.executor.run(plan, alice);
    const events = collect(run);
    const second = await run.result;
    expect(b.probe.calls).toHaveLength(0);
    expect(second.fragments.f!.cached).toBe(true);
    expect(second.rows).toEqual(first.rows);
    expect(events.map((e) => e.type)).toContain('fragment.cached');
    expect(b.executor.cache.stats()).toMatchObject({ hits: 1, misses: 0, entries: 1, store: { hits: 1, misses: 0, unavailable: 0 } });

    // promoted into b's first level: the next hit does not ask Redis
    await b.executor.execute(plan, alice);
    expect(b.executor.cache.stats()).toMatchObject({ hits: 2, store: { hits: 1 } });

    // the scope holds in Redis too: another principal, or none, is not served alice's entry
    expect((await b.executor.execute(plan, { principal: { id: 'bob' } })).rows).toEqual([{ who: 'bob', query: { table: 't' }, params: [] }]);
    expect((await b.executor.execute(plan)).rows).toEqual([{ who: null, query: { table: 't' }, params: [] }]);
    expect(b.probe.calls).toHaveLength(2);
  });

  it('never serves a fragment an entry from Redis older than its own TTL', async () => {
    const a = instance();
    const kept = (table: string): Record<string, unknown> => onePlan('p', { table }, { cache: { ttlMs: 60_000 } });
    const fresh = (table: string): Record<string, unknown> => onePlan('p', { table }, { cache: { ttlMs: 1000 } });
    await a.executor.execute(kept('t'));
    await a.executor.execute(kept('u'));
    await waitForEntries(2);
    // Stored for 60 s with 30 s left: their rows are 30 s old.
    for (const key of await entryKeys()) await inspector.pexpire(key, 30_000);

    const b = instance();
    expect((await b.executor.execute(fresh('t'))).fragments.f!.cached).toBe(false);
    expect(b.probe.calls).toHaveLength(1);

    const c = instance();
    expect((await c.executor.execute(kept('u'))).fragments.f!.cached).toBe(true);
    // Promoted into c's first level with its age: not served to the 1 s fragment there either.
    expect((await c.executor.execute(fresh('u'))).fragments.f!.cached).toBe(false);
    expect(c.probe.calls).toHaveLength(1);
  });

  it('goes to the source for an entry of the right format whose rows are not rows (never serves them)', async () => {
    const a = instance();
    const plan = onePlan('p', { table: 't' });
    await a.executor.execute(plan);
    await waitForEntries(1);
    const [entry] = await entryKeys();
    const key = entry!.slice(`tributary:${namespace}:e:`.length);
    for (const rows of [[1, 2], [null], [['a', 1]], ['text']]) {
      // What another writer on the namespace (or a damaged value) might leave: the header and
      // shape of an entry for this very key, with rows that are no rows.
      await inspector.set(entry!, await encodeEntry({ key, rows: rows as unknown as Row[], source: 'p', tags: [] }, 1 << 20), 'PX', 60_000);
      const b = instance();
      const result = await b.executor.execute(plan);
      expect(result.fragments.f!.cached).toBe(false);
      expect(result.rows).toEqual([{ who: null, query: { table: 't' }, params: [] }]);
      expect(b.probe.calls).toHaveLength(1);
    }
  });

  it('writes namespaced keys that carry the scope, with the TTL set in Redis', async () => {
    const a = instance({ ttlMs: 30_000 });
    await a.executor.execute(onePlan('p', { table: 't' }, { cache: { ttlMs: 5000 } }), { principal: { id: 'alice' } });
    await a.executor.execute(onePlan('p', { table: 'u' }));
    await waitForEntries(2);
    const keys = (await entryKeys()).sort();
    expect(keys[0]).toMatch(new RegExp(`^tributary:${namespace}:e:anonymous:[A-Za-z0-9_-]{43}$`));
    expect(keys[1]).toMatch(new RegExp(`^tributary:${namespace}:e:principal:"alice":[A-Za-z0-9_-]{43}$`));
    const [anonTtl, aliceTtl] = await Promise.all(keys.map((k) => inspector.pttl(k)));
    expect(anonTtl).toBeGreaterThan(29_000);
    expect(anonTtl).toBeLessThanOrEqual(30_000);
    expect(aliceTtl).toBeGreaterThan(4000);
    expect(aliceTtl).toBeLessThanOrEqual(5000);
    // the index of the source lives as long as its longest entry
    expect(await inspector.zcard(`tributary:${namespace}:source:p`)).toBe(2);
    expect(await inspector.pttl(`tributary:${namespace}:source:p`)).toBeGreaterThan(29_000);
  });

  it('compresses values above compressAboveBytes (the raw Redis value is gzip) and round-trips Buffer and bigint', async () => {
    const rows: Row[] = [
      { bin: Buffer.from([0, 1, 2, 254, 255]), big: 2n ** 80n + 1n, at: new Date(86_400_000), json: { list: [1n, 'x', null] } },
      ...Array.from({ length: 100 }, (_, i) => ({ i, text: 'repetitive text compresses well' })),
    ];
    const a = instance({ probe: probeSource({ answer: () => rows }), store: { compressAboveBytes: 256 } });
    const b = instance({ probe: probeSource({ answer: () => [] }), store: { compressAboveBytes: 256 } });
    await a.executor.execute(onePlan('p', { table: 'big' }));
    await waitForEntries(1);
    const raw = (await inspector.getBuffer((await entryKeys())[0]!))!;
    expect([...raw.subarray(0, 3)]).toEqual([0x54, 1, 1]);
    const serialized = gunzipSync(raw.subarray(3));
    expect(raw.length).toBeLessThan(serialized.length / 3);
    expect((deserialize(serialized) as { rows: Row[] }).rows).toEqual(rows);

    const served = await b.executor.execute(onePlan('p', { table: 'big' }));
    expect(b.probe.calls).toHaveLength(0);
    expect(served.rows).toEqual(rows);
    const first = served.rows[0]!;
    expect(Buffer.isBuffer(first.bin)).toBe(true);
    expect(first.big).toBe(2n ** 80n + 1n);
    expect(first.at).toEqual(new Date(86_400_000));

    // below the threshold: stored as is
    await a.executor.execute(onePlan('p', { table: 'small' }, {}));
    const small = instance({ probe: probeSource({ answer: () => [{ id: 1 }] }), store: { compressAboveBytes: 256 } });
    await small.executor.execute(onePlan('p', { table: 'tiny' }));
    await vi.waitFor(async () => expect((await entryKeys()).length).toBeGreaterThanOrEqual(2), { timeout: 2000, interval: 5 });
    const values = await Promise.all((await entryKeys()).map((k) => inspector.getBuffer(k)));
    expect(values.some((v) => v![2] === 0)).toBe(true);
  });

  it('invalidates by tag, source and key in this process, in Redis and in the other instances', async () => {
    const shared = { probe: probeSource() };
    const a = instance(shared);
    const b = instance();
    const runA = (table: string, tags?: string[]) => a.executor.execute(onePlan('p', { table }, tags ? { cache: { tags } } : {}));
    const cachedOnB = async (table: string, tags?: string[]) => (await b.executor.execute(onePlan('p', { table }, tags ? { cache: { tags } } : {}))).fragments.f!.cached;
    await runA('t1', ['orders']);
    await runA('t2');
    await runA('t3', ['orders', 'eu']);
    await waitForEntries(3);
    // b copies t1 into its first level
    expect(await cachedOnB('t1', ['orders'])).toBe(true);
    expect(b.executor.cache.stats().entries).toBe(1);

    expect(await a.executor.cache.invalidate({ tag: 'orders' })).toEqual({ local: 2, shared: 2 });
    expect(await entryKeys()).toHaveLength(1);
    // the other instance hears of it and drops its copy
    await vi.waitFor(() => expect(b.executor.cache.stats().entries).toBe(0), { timeout: 2000, interval: 5 });
    expect(await cachedOnB('t1', ['orders'])).toBe(false);
    await waitForEntries(2); // b stored its fresh t1

    expect(await a.executor.cache.invalidate({ source: 'p', tag: 'eu' })).toEqual({ local: 0, shared: 0 });
    const t2 = cacheKey({ source: 'p', version: 'probe', scope: 'anonymous', calls: [{ query: { table: 't2' }, params: [] }] })!;
    expect(await a.executor.cache.invalidate({ key: t2, tag: 'orders' })).toEqual({ local: 0, shared: 0 });
    expect(await a.executor.cache.invalidate({ key: t2 })).toEqual({ local: 1, shared: 1 });
    expect(await entryKeys()).toHaveLength(1);
    expect(await cachedOnB('t2')).toBe(false);
    await waitForEntries(2);

    expect(await a.executor.cache.invalidate({ source: 'p' })).toMatchObject({ shared: 2 });
    expect(await entryKeys()).toHaveLength(0);
    await runA('t9', ['x']);
    await waitForEntries(1);
    expect(await a.executor.cache.invalidate()).toMatchObject({ shared: 1 });
    expect(await inspector.keys(`tributary:${namespace}:*`)).toEqual([]);
  });

  it('indexes a tag a fragment adds to an entry it is served from Redis', async () => {
    const a = instance();
    const b = instance();
    await a.executor.execute(onePlan('p', { table: 't' }));
    await waitForEntries(1);
    expect((await b.executor.execute(onePlan('p', { table: 't' }, { cache: { tags: ['late'] } }))).fragments.f!.cached).toBe(true);
    await vi.waitFor(async () => expect(await inspector.zcard(`tributary:${namespace}:tag:late`)).toBe(1), { timeout: 2000, interval: 5 });
    expect(await a.executor.cache.invalidate({ tag: 'late' })).toEqual({ local: 0, shared: 1 });
  });

  it('steps aside when Redis is unreachable: runs succeed from their sources and cache.unavailable says why', async () => {
    const errors = vi.spyOn(console, 'error');
    const down = instance({ store: { url: 'redis://127.0.0.1:1' } });
    const run = down.executor.run(onePlan('p', { table: 't' }));
    const events = collect(run);
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.rows).toHaveLength(1);
    const unavailable = events.filter((e): e is Extract<ExecutionEvent, { type: 'cache.unavailable' }> => e.type === 'cache.unavailable');
    expect(unavailable).toHaveLength(1);
    expect(unavailable[0]).toMatchObject({ fragmentId: 'f', source: 'p', queryId: 'q' });
    expect(unavailable[0]!.reason).toMatch(/ECONNREFUSED/);

    // the first level still works, and a miss right after does not wait again
    expect((await down.executor.execute(onePlan('p', { table: 't' }))).fragments.f!.cached).toBe(true);
    const again = down.executor.run(onePlan('p', { table: 'u' }));
    const againEvents = collect(again);
    expect((await again.result).status).toBe('ok');
    expect(againEvents.map((e) => e.type)).toContain('cache.unavailable');
    expect(down.executor.cache.stats().store).toMatchObject({ unavailable: 2, hits: 0 });

    // invalidation says the shared level could not be reached, after clearing this process
    await expect(down.executor.cache.invalidate({ source: 'p' })).rejects.toMatchObject({ code: 'SOURCE_UNAVAILABLE' });
    expect(down.executor.cache.stats().entries).toBe(0);
    await down.executor.close();
    expect(errors.mock.calls.filter((c) => String(c[0]).includes('ioredis'))).toEqual([]);
    errors.mockRestore();
  });

  it('does not hang on a Redis that accepts connections and never answers', async () => {
    const hole = await blackhole();
    cleanups.push(() => hole.close());
    // The reasons say what happened: the first lookup gave up at its bound, the next one,
    // inside the cooldown, skipped Redis without waiting at all.
    const stuck = instance({ store: { url: hole.url, timeoutMs: 100, cooldownMs: 60_000 } });
    const run = stuck.executor.run(onePlan('p', { table: 't' }));
    const events = collect(run);
    expect((await run.result).status).toBe('ok');
    expect(hole.connections()).toBeGreaterThan(0);
    const reasons = events.flatMap((e) => (e.type === 'cache.unavailable' ? [e.reason] : []));
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/within 100 ms/);
    const next = stuck.executor.run(onePlan('p', { table: 'u' }));
    const nextEvents = collect(next);
    expect((await next.result).status).toBe('ok');
    expect(nextEvents.flatMap((e) => (e.type === 'cache.unavailable' ? [e.reason] : []))).toEqual([expect.stringMatching(/skipped until it recovers/)]);
    await stuck.executor.close();
  });

  it('does not hang when Redis stops answering after it was connected, and comes back when it answers again', async () => {
    const proxy = await freezableProxy();
    cleanups.push(() => proxy.close());
    // 500 ms, not less: on a loaded machine a healthy lookup must still answer in time.
    const a = instance({ store: { url: proxy.url, timeoutMs: 500, cooldownMs: 50 } });
    await a.executor.execute(onePlan('p', { table: 'warm' }));
    await waitForEntries(1);
    proxy.freeze();
    const run = a.executor.run(onePlan('p', { table: 'cold' }));
    const events = collect(run);
    expect((await run.result).status).toBe('ok');
    expect(events.flatMap((e) => (e.type === 'cache.unavailable' ? [e.reason] : []))).toEqual([expect.stringMatching(/did not answer a lookup within 500 ms/)]);

    proxy.thaw();
    // after the cooldown, with its connection reset, a's store reaches Redis again
    await vi.waitFor(() => a.store.get('nothing'), { timeout: 10_000, interval: 60 });
    const b = instance();
    await b.executor.execute(onePlan('p', { table: 'again' }));
    await vi.waitFor(async () => expect((await entryKeys()).length).toBeGreaterThanOrEqual(2), { timeout: 10_000, interval: 5 });
    expect((await a.executor.execute(onePlan('p', { table: 'again' }))).fragments.f!.cached).toBe(true);
    expect(a.executor.cache.stats().store!.hits).toBe(1);
  });

  it('leaves a client it was given open, and closes its own on executor.close()', async () => {
    const client = new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    cleanups.push(async () => client.disconnect());
    const given = instance({ store: { client } });
    await given.executor.execute(onePlan('p', { table: 't' }));
    await waitForEntries(1);
    await given.executor.close();
    expect(await client.ping()).toBe('PONG');

    const own = instance();
    await own.executor.execute(onePlan('p', { table: 't' }));
    await own.executor.close();
    await own.executor.close(); // idempotent
    await expect(own.store.get('anything')).rejects.toMatchObject({ code: 'SOURCE_UNAVAILABLE' });
  });

  it('shares one wait for the connection among many first lookups (no listener pile-up)', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    cleanups.push(async () => process.off('warning', onWarning));
    const client = new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    cleanups.push(async () => client.disconnect());
    const baseline = client.listenerCount('ready');
    const probe = probeSource();
    const executor = createExecutor({ sources: { p: probe.source }, concurrency: 64, cache: { store: redisStore({ client, namespace, timeoutMs: 1000 }) } });
    cleanups.push(() => executor.close());
    const fragments = Array.from({ length: 40 }, (_, i) => ({ id: `f${i}`, source: 'p', query: { table: `t${i}` } }));
    const r = await executor.execute({ fragments, merge: { op: 'union', inputs: fragments.map((f) => f.id) } });
    expect(r.status).toBe('ok');
    expect(executor.cache.stats().store).toMatchObject({ unavailable: 0, misses: 40 });
    expect(client.listenerCount('ready')).toBeLessThanOrEqual(baseline + 1);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('waits for writes on their way to Redis before closing', async () => {
    const a = instance();
    await a.executor.execute(onePlan('p', { table: 't' }));
    await a.executor.close();
    expect(await entryKeys()).toHaveLength(1);
  });
});
