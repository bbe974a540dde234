/* The result cache: an in-process LRU, an optional shared store (Redis), stable scoped keys. */
export { TieredCache, type CacheStats, type CacheInvalidation, type CacheLookup, type TieredCacheOptions } from './tiered-cache.js';
export { ResultCache, type EntryMeta, type ResultCacheOptions } from './result-cache.js';
export { InflightLoads } from './inflight.js';
export { frozenCopy, freezeInPlace } from './frozen-rows.js';
export { cacheKey, cacheScopeOf, claimsDigest, type CacheKeyParts } from './key.js';
export { canonicalize } from './canonical.js';
export { resolveCachePolicy, type CachePolicy } from './policy.js';
export { estimateRowsBytes } from '../data/bytes.js';
export { redisStore, type RedisStore, type RedisStoreOptions } from './redis-store.js';
export type { CacheStore, CacheFilter, StoredEntry, StoreHit } from './store.js';
export { checkCacheFilter } from './filter.js';
