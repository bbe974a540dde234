import { LRUCache } from 'lru-cache';
import type { Row } from '../data/row.js';
import { estimateRowsBytes } from '../data/bytes.js';
import type { CacheFilter } from './store.js';

export interface ResultCacheOptions {
  /** Most entries kept. */
  maxEntries: number;
  /** Most estimated bytes kept (`estimateRowsBytes`); an entry larger than this is never kept. */
  maxBytes: number;
  /** Default time to live of an entry, in ms; 0 means entries do not expire by time. */
  ttlMs: number;
  /**
   * The clock TTLs are measured with, in ms. Default `performance.now()`, read at each call
   * (so fake timers that replace `performance` reach it).
   */
  now?: () => number;
}

/** What is kept with each entry, for invalidation by source or tag. */
export interface EntryMeta {
  source: string;
  tags: readonly string[];
  /** This entry's time to live in ms, instead of the cache's. */
  ttlMs?: number;
  /** How old its rows already are, in ms (an entry from a shared store); default 0. */
  ageMs?: number;
}

interface Entry {
  rows: Row[];
  source: string;
  tags: string[];
  /** When its rows were loaded, on the cache's clock (earlier than stored, for a store hit). */
  loadedAt: number;
}

/**
 * The first-level result cache, in process, on lru-cache: bounded by entries and by the
 * estimated bytes of the rows (least recently used evicted first), each entry with a TTL.
 * Reads return the stored array itself, rows shared, never copied: the executor stores
 * `frozenCopy`s (see frozen-rows.ts), so no reader can change them for another.
 */
export class ResultCache {
  readonly #lru: LRUCache<string, Entry>;
  readonly #maxBytes: number;
  readonly #now: () => number;
  #evictions = 0;

  constructor(options: ResultCacheOptions) {
    const now = options.now ?? (() => performance.now());
    this.#maxBytes = options.maxBytes;
    this.#now = now;
    this.#lru = new LRUCache<string, Entry>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      ...(options.ttlMs > 0 ? { ttl: options.ttlMs } : {}),
      // Read the clock at every check: no 1 ms debounce, so an expiry is exact (and testable).
      ttlResolution: 0,
      // lru-cache reads a start time of 0 as "no TTL": shift the clock off zero (a fake clock starts there).
      perf: { now: () => now() + 1 },
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.#evictions++;
      },
    });
  }

  /**
   * The rows under `key`, or `undefined` (absent, expired, or older than `maxAgeMs`: a
   * fragment with a shorter TTL than the one that stored them); a hit marks the entry most
   * recently used.
   */
  get(key: string, maxAgeMs?: number): Row[] | undefined {
    const entry = this.#lru.get(key);
    if (!entry || (maxAgeMs !== undefined && this.#now() - entry.loadedAt > maxAgeMs)) return undefined;
    return entry.rows;
  }

  /**
   * Adds tags to a held entry, so that invalidating a tag reaches every entry a fragment with
   * that tag was served, not only the ones it stored. Returns the tags that were new.
   */
  tag(key: string, tags: readonly string[]): string[] {
    const entry = this.#lru.peek(key);
    if (!entry) return [];
    const added = tags.filter((t, i) => !entry.tags.includes(t) && tags.indexOf(t) === i);
    entry.tags.push(...added);
    return added;
  }

  /** True when `key` is held and fresh; does not touch recency. */
  has(key: string): boolean {
    return this.#lru.has(key);
  }

  /**
   * Stores rows. Returns false, keeping nothing, when the rows alone are over `maxBytes` or
   * the TTL is 0. Storing may evict the least recently used entries to make room.
   */
  set(key: string, rows: Row[], meta: EntryMeta): boolean {
    const ttl = meta.ttlMs;
    if (ttl === 0) return false;
    const size = Math.max(1, estimateRowsBytes(rows));
    if (size > this.#maxBytes) {
      this.#lru.delete(key);
      return false;
    }
    const entry: Entry = { rows, source: meta.source, tags: [...new Set(meta.tags)], loadedAt: this.#now() - (meta.ageMs ?? 0) };
    this.#lru.set(key, entry, { size, ...(ttl === undefined ? {} : { ttl }) });
    return true;
  }

  /** Drops the entries matching every given field of `filter` (all with `{}`); returns how many. */
  invalidate(filter: CacheFilter = {}): number {
    if (filter.key !== undefined) {
      const entry = this.#lru.peek(filter.key);
      return entry && matches(entry, filter) && this.#lru.delete(filter.key) ? 1 : 0;
    }
    let dropped = 0;
    for (const [key, entry] of [...this.#lru.entries()]) {
      if (matches(entry, filter) && this.#lru.delete(key)) dropped++;
    }
    return dropped;
  }

  /** Entries and estimated bytes held, and entries evicted for room so far. */
  stats(): { entries: number; bytes: number; evictions: number } {
    // Expired entries linger until touched; drop them so the figures are what can be served.
    this.#lru.purgeStale();
    return { entries: this.#lru.size, bytes: this.#lru.calculatedSize, evictions: this.#evictions };
  }

  clear(): void {
    this.#lru.clear();
  }
}

function matches(entry: Entry, filter: CacheFilter): boolean {
  return (filter.source === undefined || filter.source === entry.source) && (filter.tag === undefined || entry.tags.includes(filter.tag));
}
