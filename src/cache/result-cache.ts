import { LRUCache } from 'lru-cache';
import { Observable, finalize, share } from 'rxjs';
import type { Row } from '../sources/source.js';
import { estimateRowsBytes } from './size.js';

export interface ResultCacheOptions {
  maxEntries: number;
  maxBytes: number;
  ttlMs: number;
}

/** What is stored with each entry, for invalidation by source or tag. */
export interface EntryMeta {
  source: string;
  tags: readonly string[];
  /** Overrides the cache's TTL for this entry; 0 means do not store. */
  ttlMs?: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  evictions: number;
  entries: number;
  bytes: number;
  inflightShared: number;
}

interface Entry {
  rows: Row[];
  meta: EntryMeta;
}

/**
 * The first-level result cache on lru-cache: bounded by entries and by the estimated bytes
 * of the rows (least recently used evicted first), with a TTL. It also shares identical
 * in-flight loads so concurrent callers of one key call the source once.
 */
export class ResultCache {
  readonly #lru: LRUCache<string, Entry>;
  readonly #inflight = new Map<string, Observable<unknown>>();
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #inflightShared = 0;

  constructor(options: ResultCacheOptions) {
    this.#lru = new LRUCache<string, Entry>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      sizeCalculation: (entry) => Math.max(1, estimateRowsBytes(entry.rows)),
      ttl: options.ttlMs,
      ttlAutopurge: false,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.#evictions++;
      },
    });
  }

  /** The rows under `key`, or undefined (counted as a hit or a miss). */
  get(key: string): Row[] | undefined {
    const entry = this.#lru.get(key);
    if (entry) this.#hits++;
    else this.#misses++;
    return entry?.rows;
  }

  /** Stores rows; an entry larger than the whole cache, or with `ttlMs: 0`, is not kept. */
  set(key: string, rows: Row[], meta: EntryMeta): void {
    if (meta.ttlMs === 0) return;
    this.#lru.set(key, { rows, meta }, meta.ttlMs === undefined ? {} : { ttl: meta.ttlMs });
  }

  /**
   * Shares one load per key among concurrent subscribers: the load is unsubscribed (and so
   * its source call aborted) only when the last subscriber leaves.
   */
  share<T>(key: string, load$: Observable<T>): Observable<T> {
    const existing = this.#inflight.get(key);
    if (existing) {
      this.#inflightShared++;
      return existing as Observable<T>;
    }
    const shared$ = load$.pipe(
      finalize(() => {
        if (this.#inflight.get(key) === shared$) this.#inflight.delete(key);
      }),
      share(),
    );
    this.#inflight.set(key, shared$);
    return shared$;
  }

  /** Drops entries by source, tag or key; with no filter, drops everything. Returns how many. */
  invalidate(filter: { source?: string; tag?: string; key?: string } = {}): number {
    let dropped = 0;
    for (const [key, entry] of this.#lru.entries()) {
      const match =
        (filter.key === undefined || filter.key === key) &&
        (filter.source === undefined || filter.source === entry.meta.source) &&
        (filter.tag === undefined || entry.meta.tags.includes(filter.tag));
      if (match && this.#lru.delete(key)) dropped++;
    }
    return dropped;
  }

  stats(): CacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
      entries: this.#lru.size,
      bytes: this.#lru.calculatedSize,
      inflightShared: this.#inflightShared,
    };
  }
}
