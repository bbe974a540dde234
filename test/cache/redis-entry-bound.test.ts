import { gzipSync } from 'node:zlib';
import { serialize } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createExecutor, memorySource, redisStore, type Executor } from '../../src/index.js';
import { decodeEntry } from '../../src/cache/codec.js';
import { describeRedis, dropNamespace, inspectClient, REDIS_URL, uniqueNamespace } from '../support/redis.js';

/**
 * An L2 cache entry is read from a Redis other writers share. A small gzipped value that
 * expands to gigabytes (a decompression bomb) was gunzipped whole into the process; it is a
 * miss past `maxEntryBytes` (64 MiB by default), as stored or as gunzipped.
 */
const bombOf = (key: string, bytes: number): Buffer =>
  Buffer.concat([Buffer.from([0x54, 1, 1]), gzipSync(serialize({ key, rows: [{ s: 'x'.repeat(bytes) }], source: 'm', tags: [] }))]);

describe('decodeEntry', () => {
  it('reads an entry that gunzips past 64 MiB as a miss, without expanding it', async () => {
    const bomb = bombOf('k', 65 * 2 ** 20);
    expect(bomb.length).toBeLessThan(2 ** 20);
    expect(await decodeEntry(bomb)).toBeUndefined();
    expect((await decodeEntry(bombOf('k', 1000)))?.rows).toEqual([{ s: 'x'.repeat(1000) }]);
    expect(await decodeEntry(bombOf('k', 1000), 500)).toBeUndefined();
  });
});

describeRedis('redisStore({ maxEntryBytes })', () => {
  let inspector: Redis;
  const namespace = uniqueNamespace();
  const executors: Executor[] = [];
  beforeAll(() => {
    inspector = inspectClient();
  });
  afterAll(async () => {
    await Promise.all(executors.map((e) => e.close()));
    await dropNamespace(inspector, namespace);
    inspector.disconnect();
  });

  const fresh = (maxEntryBytes?: number): Executor => {
    const store = redisStore({ url: REDIS_URL, namespace, timeoutMs: 2000, ...(maxEntryBytes === undefined ? {} : { maxEntryBytes }) });
    const e = createExecutor({ sources: { m: memorySource({ tables: { t: [{ s: 'real' }] } }) }, cache: { store } });
    executors.push(e);
    return e;
  };
  const plan = { fragments: [{ id: 'f', source: 'm', query: { table: 't' } }] };

  it('treats an entry that gunzips past the bound as a miss and asks the source', async () => {
    expect((await fresh().execute(plan)).rows).toEqual([{ s: 'real' }]);
    const [redisKey] = await inspector.keys(`tributary:${namespace}:e:*`);
    const key = redisKey!.slice(`tributary:${namespace}:e:`.length);
    await inspector.set(redisKey!, bombOf(key, 4 * 2 ** 20), 'PX', 60_000);
    const bounded = await fresh(2 ** 20).execute(plan);
    expect(bounded.fragments.f?.cached).toBe(false);
    expect(bounded.rows).toEqual([{ s: 'real' }]);
    // Within the bound it is a hit (what the other writer stored).
    await inspector.set(redisKey!, bombOf(key, 100), 'PX', 60_000);
    const hit = await fresh(2 ** 20).execute(plan);
    expect(hit.fragments.f?.cached).toBe(true);
    expect(hit.rows).toEqual([{ s: 'x'.repeat(100) }]);
  });
});

describeRedis('redisStore lookups of an oversized value', () => {
  const namespace = uniqueNamespace();
  let client: Redis;
  beforeAll(() => {
    client = inspectClient();
  });
  afterAll(async () => {
    await dropNamespace(client, namespace);
    client.disconnect();
  });

  it('checks the size in Redis: a value past maxEntryBytes is a miss that is never transferred', async () => {
    const store = redisStore({ client, namespace, timeoutMs: 2000, maxEntryBytes: 2 ** 20 });
    const key = 'shared:big';
    // 8 MiB as stored, uncompressed: another writer's, or a planted one.
    const huge = Buffer.concat([Buffer.from([0x54, 1, 0]), serialize({ key, rows: [{ s: 'x'.repeat(8 * 2 ** 20) }], source: 'm', tags: [] })]);
    await client.set(`${store.prefix}e:${key}`, huge, 'PX', 60_000);
    await client.ping();
    const before = client.stream.bytesRead;
    expect(await store.get(key)).toBeUndefined();
    expect(client.stream.bytesRead - before).toBeLessThan(64 * 1024);
    // Within the bound it is read, TTL and all, in one lookup.
    const small = Buffer.concat([Buffer.from([0x54, 1, 0]), serialize({ key, rows: [{ s: 'y' }], source: 'm', tags: [] })]);
    await client.set(`${store.prefix}e:${key}`, small, 'PX', 60_000);
    const hit = await store.get(key);
    expect(hit?.rows).toEqual([{ s: 'y' }]);
    expect(hit?.ttlMs).toBeGreaterThan(0);
    expect(await store.get('shared:absent')).toBeUndefined();
    await store.close();
  });
});
