import type { Row } from '../data/row.js';

/** Which entries `invalidate` drops: every given field must match; `{}` drops everything. */
export interface CacheFilter {
  /** Entries of this source (its registered name). */
  source?: string;
  /** Entries stored or served for fragments carrying this tag (`cache: { tags: [...] }`). */
  tag?: string;
  /** One entry, by the key `cacheKey()` gives. */
  key?: string;
}

/** One entry as a store holds it. */
export interface StoredEntry {
  /** The cache key it was stored under; checked on read, so an entry never answers another key. */
  key: string;
  rows: Row[];
  source: string;
  tags: readonly string[];
  /**
   * The TTL it was stored with, in ms: with what is left of it (`StoreHit.ttlMs`), how old
   * its rows are, so a fragment with a shorter TTL is not served them. Absent from entries
   * written before it was kept: their age is unknown (taken as 0).
   */
  lifetimeMs?: number;
}

/** An entry read back, with what is left of its time to live. */
export interface StoreHit extends StoredEntry {
  /** Milliseconds until it expires; `undefined` when the store does not know. */
  ttlMs: number | undefined;
}

/**
 * A shared second level under the in-process cache (e.g. `redisStore()`), for several
 * executor instances. Keys arrive already scoped (`cacheKey()`), so a store never decides
 * who may read an entry: it must only keep keys apart.
 *
 * Every method must settle within a bounded wait: when the store is unreachable or slow,
 * `get` and `set` reject (`get` is then reported as a `cache.unavailable` event and the
 * fragment goes to its source). A store never stores what it is not given: errors,
 * partial and cancelled results never reach it.
 */
export interface CacheStore {
  /** The entry under `key`, or `undefined`; rejects when the store cannot answer in time. */
  get(key: string): Promise<StoreHit | undefined>;
  /** Stores an entry for `ttlMs` (a positive number), indexed by its source and tags. */
  set(entry: StoredEntry, ttlMs: number): Promise<void>;
  /** Adds tags to a stored entry (a tagged fragment was served an entry stored without them). */
  addTags?(key: string, tags: readonly string[]): Promise<void>;
  /** Drops matching entries; resolves with how many; rejects when the store cannot be reached. */
  invalidate(filter: CacheFilter): Promise<number>;
  /**
   * Listens to invalidations made by other instances sharing the store, so their first
   * levels drop the same entries. Returns the unsubscribe function.
   */
  onInvalidate?(listener: (filter: CacheFilter) => void): () => void;
  /** Releases connections; idempotent. */
  close(): Promise<void>;
}
