import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { TributaryError } from '../errors.js';
import { badRedisUrl } from '../redis-url.js';
import { DEFAULT_MAX_ENTRY_BYTES, decodeEntry, encodeEntry } from './codec.js';
import { RedisGuard } from './redis-guard.js';
import { DROP_INDEXED, DROP_KEY, LOOKUP, STORE, TAG, runScript, runScriptBuffer } from './redis-scripts.js';
import type { CacheFilter, CacheStore, StoreHit, StoredEntry } from './store.js';

/** Options of `redisStore`. */
export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). Default `redis://127.0.0.1:6379`. */
  url?: string;
  /**
   * An ioredis client to use instead of `url`. The store does not close it (its owner does),
   * nor reset its connection after a timeout; it should be created with
   * `enableOfflineQueue: false` so that a down Redis fails calls at once instead of
   * queueing them.
   */
  client?: Redis;
  /**
   * Keys are `tributary:<namespace>:…`; instances share entries within one namespace. Default
   * `default`. A `:` (and `%`) in it is written `%3A` (`%25`) in keys, so no namespace's keys
   * lie under another's (`a` never reaches into `a:b`).
   */
  namespace?: string;
  /** Values whose serialized form is larger than this are gzipped. Default 1024 bytes. */
  compressAboveBytes?: number;
  /**
   * The longest a lookup waits for Redis before the cache steps aside (and the fragment goes
   * to its source). Default 100 ms. Writes and invalidations, which no query waits for, get
   * ten times as long (at least 1 s); `close()` waits for writes still on their way.
   */
  timeoutMs?: number;
  /** After Redis failed, lookups skip it at once for this long before trying again. Default 1000 ms. */
  cooldownMs?: number;
  /**
   * The largest entry read, in bytes as stored and as gunzipped (default 64 MiB): a value in
   * Redis that is larger, or gunzips to more (a decompression bomb another writer left), is
   * a miss, never expanded whole; an entry larger as stored is not written.
   */
  maxEntryBytes?: number;
}

/** A `CacheStore` on Redis, with `close()`. */
export interface RedisStore extends CacheStore {
  /** The Redis key prefix of this store: `tributary:<namespace, ':' and '%' escaped>:`. */
  readonly prefix: string;
}

const optionsSchema = z.strictObject({
  url: z.string().min(1).optional(),
  client: z.custom<Redis>((v) => typeof v === 'object' && v !== null && typeof (v as Redis).evalsha === 'function', { message: 'expected an ioredis client' }).optional(),
  namespace: z.string().min(1).max(200).optional(),
  compressAboveBytes: z.number().int().nonnegative().optional(),
  timeoutMs: z.number().int().positive().optional(),
  cooldownMs: z.number().int().nonnegative().optional(),
  maxEntryBytes: z.number().int().positive().optional(),
});

/**
 * A shared second-level cache on Redis, for several executor instances:
 * `createExecutor({ cache: { store: redisStore({ url }) } })`. The in-process LRU stays the
 * first level; a lookup it misses asks Redis, and a hit there is copied into it.
 *
 * - **Keys**: `tributary:<namespace>:e:<cache key>`; the cache key starts with its scope
 *   (`shared`, `anonymous`, `principal:"<id>"`), so the principal isolation of the first
 *   level holds here too.
 * - **Values**: `v8.serialize` (Buffer, bigint, Date and nested JSON round-trip exactly),
 *   gzipped above `compressAboveBytes`; the TTL is set in Redis (`PX`).
 * - **Invalidation**: a sorted set per source (`…:source:<name>`) and per tag (`…:tag:<tag>`)
 *   lists the keys of its entries, so `invalidate({ source })` or `({ tag })` deletes exactly
 *   those; `({ key })` deletes one; `({})` SCANs the namespace. Every invalidation is also
 *   published on `…:invalidate`, so the first levels of the other instances drop the same
 *   entries.
 * - **Failure**: every call waits at most `timeoutMs`; when Redis is down or slow the
 *   lookup reports a `cache.unavailable` event and the fragment runs against its source.
 *   The client never queues commands offline and retries a request at most once.
 *
 * Works with a standalone or replicated Redis (the index scripts touch keys they are not
 * given up front, which Redis Cluster forbids).
 *
 * @example
 * const store = redisStore({ url: process.env.REDIS_URL, namespace: 'reports' });
 * const executor = createExecutor({ sources, cache: { ttlMs: 300_000, store } });
 * await executor.cache.invalidate({ tag: 'orders' });   // this instance, Redis, and the others
 * await executor.close();                               // closes the store too
 */
export function redisStore(options: RedisStoreOptions = {}): RedisStore {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: ['options', ...i.path.map(String)].join('.'), message: i.message }));
    throw new TributaryError('CONFIG_INVALID', `invalid redisStore options: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
  }
  const timeoutMs = options.timeoutMs ?? 100;
  const compressAboveBytes = options.compressAboveBytes ?? 1024;
  const maxEntryBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
  const prefix = `tributary:${namespaceInKeys(options.namespace ?? 'default')}:`;
  const channel = `${prefix}invalidate`;
  const origin = randomUUID();
  const owned = options.client === undefined;
  const client = options.client ?? ownClient(options.url ?? 'redis://127.0.0.1:6379', timeoutMs);
  const guard = new RedisGuard(client, { timeoutMs, cooldownMs: options.cooldownMs ?? 1000, resetOnTimeout: owned });
  // Invalidation may walk a large index, and writes happen after the query: both get more
  // time than a lookup, still bounded.
  const slowBudgetMs = Math.max(1000, timeoutMs * 10);

  const entryKey = (key: string): string => `${prefix}e:${key}`;
  const sourceIndex = (source: string): string => `${prefix}source:${source}`;
  const tagIndex = (tag: string): string => `${prefix}tag:${tag}`;

  let subscriber: Redis | undefined;
  const listeners = new Set<(filter: CacheFilter) => void>();
  let closing: Promise<void> | undefined;

  const subscribe = (): void => {
    if (subscriber || closing) return;
    // A connection of its own (a subscribed connection can do nothing else), which queues its
    // SUBSCRIBE until connected and resubscribes after a reconnect.
    const sub = client.duplicate({ lazyConnect: false, enableOfflineQueue: true, maxRetriesPerRequest: null });
    subscriber = sub;
    sub.on('error', () => undefined);
    sub.on('message', (_channel: string, message: string) => {
      const filter = parseInvalidation(message, origin);
      if (filter) for (const listener of listeners) listener(filter);
    });
    sub.subscribe(channel).catch(() => undefined);
  };

  const invalidateInRedis = async (filter: CacheFilter, redis: Redis): Promise<number> => {
    if (filter.key !== undefined) {
      const indexes = [...(filter.source === undefined ? [] : [sourceIndex(filter.source)]), ...(filter.tag === undefined ? [] : [tagIndex(filter.tag)])];
      return Number(await runScript(redis, DROP_KEY, [entryKey(filter.key), ...indexes], []));
    }
    if (filter.source !== undefined || filter.tag !== undefined) {
      // Walk the tag index when there is one: usually the smaller.
      const indexes = [...(filter.tag === undefined ? [] : [tagIndex(filter.tag)]), ...(filter.source === undefined ? [] : [sourceIndex(filter.source)])];
      return Number(await runScript(redis, DROP_INDEXED, indexes, []));
    }
    let dropped = 0;
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 500);
      cursor = next;
      // Only the store's own kinds of key: a run store or a remote queue may live under the
      // same `tributary:<name>:` (a queue named like the namespace, the run store's `runs`).
      const keys = found.filter((k) => OWN_KINDS.some((kind) => k.startsWith(`${prefix}${kind}`)));
      if (keys.length > 0) {
        dropped += keys.filter((k) => k.startsWith(`${prefix}e:`)).length;
        await redis.unlink(...keys);
      }
    } while (cursor !== '0');
    return dropped;
  };

  return {
    prefix,

    async get(key: string): Promise<StoreHit | undefined> {
      // Redis checks the size first: a value past the bound (3 bytes of header aside) is a
      // miss that never crosses the network, however large another writer made it.
      const reply = await guard.run('a lookup', (redis) => runScriptBuffer(redis, LOOKUP, [entryKey(key)], [maxEntryBytes + 3]));
      if (!Array.isArray(reply)) return undefined;
      const [value, ttlReply]: unknown[] = reply;
      if (!Buffer.isBuffer(value)) return undefined;
      const entry = await decodeEntry(value, maxEntryBytes);
      // An entry must answer the key it was asked for: the scope is part of the key.
      if (!entry || entry.key !== key) return undefined;
      const ttl = typeof ttlReply === 'number' && ttlReply > 0 ? ttlReply : undefined;
      return { ...entry, ttlMs: ttl };
    },

    async set(entry: StoredEntry, ttlMs: number): Promise<void> {
      const value = await encodeEntry(entry, compressAboveBytes);
      // It could never be read back (see maxEntryBytes).
      if (value.length - 3 > maxEntryBytes) return;
      const indexes = [sourceIndex(entry.source), ...[...new Set(entry.tags)].map(tagIndex)];
      await guard.run('a write', (redis) => runScript(redis, STORE, [entryKey(entry.key), ...indexes], [value, Math.max(1, Math.round(ttlMs))]), {
        budgetMs: slowBudgetMs,
      });
    },

    async addTags(key: string, tags: readonly string[]): Promise<void> {
      if (tags.length === 0) return;
      await guard.run('a write', (redis) => runScript(redis, TAG, [entryKey(key), ...[...new Set(tags)].map(tagIndex)], []), {
        budgetMs: slowBudgetMs,
      });
    },

    async invalidate(filter: CacheFilter): Promise<number> {
      return guard.run(
        'an invalidation',
        async (redis) => {
          const dropped = await invalidateInRedis(filter, redis);
          await redis.publish(channel, JSON.stringify({ origin, filter: pick(filter) }));
          return dropped;
        },
        { budgetMs: slowBudgetMs },
      );
    },

    onInvalidate(listener: (filter: CacheFilter) => void): () => void {
      listeners.add(listener);
      // Called when an executor takes the store: a good moment to connect.
      guard.warm();
      subscribe();
      return () => listeners.delete(listener);
    },

    close(): Promise<void> {
      closing ??= (async () => {
        guard.close();
        listeners.clear();
        subscriber?.disconnect();
        if (!owned) return;
        if (client.status === 'ready') {
          // QUIT lets written commands finish; a Redis that does not answer gets disconnected.
          await Promise.race([client.quit().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
        }
        client.disconnect();
      })();
      return closing;
    },
  };
}

function pick(filter: CacheFilter): CacheFilter {
  return {
    ...(filter.source === undefined ? {} : { source: filter.source }),
    ...(filter.tag === undefined ? {} : { tag: filter.tag }),
    ...(filter.key === undefined ? {} : { key: filter.key }),
  };
}

const invalidationSchema = z.object({
  origin: z.string(),
  filter: z.object({ source: z.string().optional(), tag: z.string().optional(), key: z.string().optional() }),
});

/** The filter of another instance's invalidation message; `undefined` for our own or a malformed one. */
function parseInvalidation(message: string, origin: string): CacheFilter | undefined {
  try {
    const parsed = invalidationSchema.safeParse(JSON.parse(message));
    if (!parsed.success || parsed.data.origin === origin) return undefined;
    return pick(parsed.data.filter);
  } catch {
    return undefined;
  }
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * The namespace as it appears in keys: with no `:`, so one namespace's prefix is never the
 * start of another's (`tributary:a:` would otherwise cover `tributary:a:b:…`, and `({})`
 * would SCAN it away). Injective, and the identity for namespaces without `:` or `%`.
 */
function namespaceInKeys(namespace: string): string {
  return namespace.replace(/%/g, '%25').replace(/:/g, '%3A');
}

/** The kinds of key the store writes under its prefix: entries, source indexes, tag indexes. */
const OWN_KINDS = ['e:', 'source:', 'tag:'] as const;

/** The store's own client; a `url` ioredis cannot parse is CONFIG_INVALID (its error, which holds the URL, is dropped). */
function ownClient(url: string, timeoutMs: number): Redis {
  try {
    return new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: Math.max(1000, timeoutMs * 10) });
  } catch {
    throw badRedisUrl('redisStore options', 'options.url');
  }
}
