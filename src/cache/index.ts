export { ResultCache, type CacheStats, type EntryMeta, type ResultCacheOptions } from './result-cache.js';
export { cacheKey, cacheScopeOf, type CacheKeyParts } from './key.js';
export { estimateRowsBytes } from './size.js';
