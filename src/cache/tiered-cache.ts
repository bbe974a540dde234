import { defer, finalize, type Observable } from 'rxjs';
import { TributaryError } from '../errors.js';
import type { Row } from '../data/row.js';
import { freezeInPlace } from './frozen-rows.js';
import { InflightLoads } from './inflight.js';
import { ResultCache, type EntryMeta, type ResultCacheOptions } from './result-cache.js';
import type { CacheFilter, CacheStore, StoreHit } from './store.js';

export interface TieredCacheOptions extends ResultCacheOptions {
  /** A shared second level, e.g. `redisStore({ url })`. */
  store?: CacheStore;
}

/** The figures of `executor.cache.stats()`. */
export interface CacheStats {
  /** Lookups served from the cache (either level). */
  hits: number;
  /** Lookups that found nothing and went to the source (or joined a load in flight). */
  misses: number;
  /** First-level entries dropped to make room (least recently used first). */
  evictions: number;
  /** Entries in the first level. */
  entries: number;
  /** Their estimated size (`estimateRowsBytes`), never over `maxBytes`. */
  bytes: number;
  /** Lookups that joined an identical load already running instead of calling the source. */
  inflightShared: number;
  /** The second level, when there is one. */
  store?: {
    hits: number;
    misses: number;
    /** Lookups for which the store could not answer in time (each one a `cache.unavailable` event). */
    unavailable: number;
    writes: number;
    writeFailures: number;
  };
}

/** What `invalidate` dropped: from this process's cache, and from the shared store. */
export interface CacheInvalidation {
  local: number;
  shared: number;
}

/** A lookup's context. */
export interface CacheLookup {
  /** The fragment's tags: added to the entry it is served, so invalidating them reaches it. */
  tags?: readonly string[];
  /** Called when the store could not answer (the lookup then counts as a miss). */
  onUnavailable?: (reason: string) => void;
  /** The asking fragment's TTL: an entry older than this is a miss for it (another stored it for longer). */
  maxAgeMs?: number;
  /** The asking run's bounds: an entry they refuse (stored under looser ones) is a miss for it. */
  fits?: (rows: Row[]) => boolean;
}

/**
 * The result cache of one executor: the in-process LRU first level, an optional shared
 * store as the second, and the sharing of identical loads in flight. A lookup tries the
 * first level, then the store (a hit there is copied into the first level for what is
 * left of its TTL); a load's rows are stored in both. Everything it does with the store is
 * best effort within the store's bounded wait: a store that fails never fails a query.
 */
export class TieredCache {
  readonly #l1: ResultCache;
  readonly #store: CacheStore | undefined;
  readonly #ttlMs: number;
  readonly #inflight = new InflightLoads();
  readonly #pendingWrites = new Set<Promise<void>>();
  /** Key → the invalidation generations its running loads started in. */
  readonly #loading = new Map<string, number[]>();
  /** Key → the tags of every fragment sharing its running load: its entry gets them all. */
  readonly #sharedTags = new Map<string, Set<string>>();
  readonly #unsubscribe: (() => void) | undefined;
  /** Invalidations on their way to the store: a store hit one of them covers is a miss meanwhile. */
  readonly #invalidating = new Set<CacheFilter>();
  #generation = 0;
  #closed = false;
  #closing: Promise<void> | undefined;
  #hits = 0;
  #misses = 0;
  #storeStats = { hits: 0, misses: 0, unavailable: 0, writes: 0, writeFailures: 0 };

  constructor(options: TieredCacheOptions) {
    this.#l1 = new ResultCache(options);
    this.#ttlMs = options.ttlMs;
    this.#store = options.store;
    this.#unsubscribe = options.store?.onInvalidate?.((filter) => {
      this.#generation++;
      this.#l1.invalidate(filter);
    });
  }

  /**
   * The rows under `key` if the first level holds them and `fits` takes them (a hit, counted
   * as one), else undefined without counting a miss: the caller goes on with `get()`.
   */
  peek(key: string, tags: readonly string[] = [], maxAgeMs?: number, fits?: (rows: Row[]) => boolean): Row[] | undefined {
    const local = this.#l1.get(key, maxAgeMs);
    if (!local || (fits !== undefined && !fits(local))) return undefined;
    this.#hits++;
    const added = tags.length === 0 ? [] : this.#l1.tag(key, tags);
    if (added.length > 0) this.#addStoreTags(key, added);
    return local;
  }

  /** The rows under `key` from the first level, else from the store; `undefined` on a miss. */
  async get(key: string, lookup: CacheLookup = {}): Promise<Row[] | undefined> {
    const tags = lookup.tags ?? [];
    const local = this.#l1.get(key, lookup.maxAgeMs);
    if (local) {
      // Past the asker's bounds: a miss (the store's copy is the same rows, measured no smaller).
      if (lookup.fits !== undefined && !lookup.fits(local)) return void this.#misses++;
      this.#hits++;
      const added = this.#l1.tag(key, tags);
      if (added.length > 0) this.#addStoreTags(key, added);
      return local;
    }
    const store = this.#store;
    if (!store || this.#closed) {
      this.#misses++;
      return undefined;
    }
    const generation = this.#generation;
    let hit: StoreHit | undefined;
    try {
      hit = await store.get(key);
    } catch (error) {
      this.#storeStats.unavailable++;
      this.#misses++;
      lookup.onUnavailable?.(error instanceof Error ? error.message : String(error));
      return undefined;
    }
    // An invalidation while the store answered may have been meant for this very entry, and
    // one the store has not done yet may cover it.
    const ageMs = hit?.lifetimeMs !== undefined && hit.ttlMs !== undefined ? Math.max(0, hit.lifetimeMs - hit.ttlMs) : 0;
    const tooOld = lookup.maxAgeMs !== undefined && ageMs > lookup.maxAgeMs;
    if (!hit || tooOld || generation !== this.#generation || [...this.#invalidating].some((f) => covers(f, key, hit)) || (lookup.fits !== undefined && !lookup.fits(hit.rows))) {
      this.#storeStats.misses++;
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    this.#storeStats.hits++;
    // Decoded for this lookup, so the cache's own: frozen like every entry it hands out.
    freezeInPlace(hit.rows);
    const missing = tags.filter((t) => !hit.tags.includes(t));
    const ttlMs = hit.ttlMs ?? this.#defaultTtl();
    this.#l1.set(key, hit.rows, { source: hit.source, tags: [...hit.tags, ...missing], ageMs, ...(ttlMs === undefined ? {} : { ttlMs }) });
    if (missing.length > 0) this.#addStoreTags(key, missing);
    return hit.rows;
  }

  /**
   * Stores a load's rows in both levels (the store in the background) for `meta.ttlMs`, else
   * the cache's TTL. Nothing is stored when the rows are larger than the first level's
   * `maxBytes`, when `meta.ttlMs` is 0, or when the cache was invalidated while the load ran
   * (its rows may predate the invalidation). Entries without any TTL stay out of the store.
   */
  set(key: string, rows: Row[], meta: EntryMeta): void {
    if (this.#closed) return;
    // A load of this key that started before an invalidation is still running: its rows (or
    // these, which cannot be told apart from them) may predate it.
    if (this.#loading.get(key)?.some((g) => g !== this.#generation)) return;
    const ttlMs = meta.ttlMs ?? this.#defaultTtl();
    const shared = this.#sharedTags.get(key);
    const tags = shared ? [...new Set([...meta.tags, ...shared])] : meta.tags;
    if (!this.#l1.set(key, rows, { source: meta.source, tags, ...(ttlMs === undefined ? {} : { ttlMs }) })) return;
    const store = this.#store;
    // The store is shared and unbounded by us: it only takes entries that expire.
    if (!store || ttlMs === undefined) return;
    const write = store.set({ key, rows, source: meta.source, tags, lifetimeMs: ttlMs }, ttlMs).then(
      () => void this.#storeStats.writes++,
      () => void this.#storeStats.writeFailures++,
    );
    this.#track(write);
  }

  /**
   * `load$` shared among every caller of `key` while it runs (see `InflightLoads`): the
   * source is called once, and aborted only when the last caller leaves. The entry it stores
   * carries the `tags` of every caller, so invalidating any of them reaches it. Callers share
   * a load only under the same `terms` (what the load runs under beside its key: row limits,
   * timeout, tries), since each gets its outcome, failures included.
   */
  share<T>(key: string, load$: Observable<T>, tags: readonly string[] = [], terms = ''): Observable<T> {
    const shared$ = this.#share(key, load$, terms);
    if (tags.length === 0) return shared$;
    return defer(() => {
      const all = this.#sharedTags.get(key) ?? new Set<string>();
      for (const tag of tags) all.add(tag);
      this.#sharedTags.set(key, all);
      return shared$;
    });
  }

  #share<T>(key: string, load$: Observable<T>, terms: string): Observable<T> {
    // A caller never joins a load started before an invalidation (an unregistered source's, say).
    return this.#inflight.share(
      `${this.#generation}:${terms}:${key}`,
      defer(() => {
        const generation = this.#generation;
        const loads = this.#loading.get(key) ?? [];
        loads.push(generation);
        this.#loading.set(key, loads);
        return load$.pipe(
          finalize(() => {
            loads.splice(loads.indexOf(generation), 1);
            if (loads.length > 0 || this.#loading.get(key) !== loads) return;
            this.#loading.delete(key);
            this.#sharedTags.delete(key);
          }),
        );
      }),
    );
  }

  /**
   * Drops the entries matching `filter` (every given field must match; `{}` drops all) from
   * the first level at once, then from the store (after the writes already on their way to
   * it). Rejects with `SOURCE_UNAVAILABLE` when the store could not be reached: the first
   * level is invalidated even then.
   */
  async invalidate(filter: CacheFilter = {}): Promise<CacheInvalidation> {
    this.#generation++;
    const local = this.#l1.invalidate(filter);
    const store = this.#store;
    if (!store || this.#closed) return { local, shared: 0 };
    this.#invalidating.add(filter);
    try {
      await Promise.allSettled([...this.#pendingWrites]);
      return { local, shared: await store.invalidate(filter) };
    } catch (error) {
      throw new TributaryError(
        'SOURCE_UNAVAILABLE',
        `the shared cache store could not be invalidated (this process's cache was): ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    } finally {
      this.#invalidating.delete(filter);
    }
  }

  stats(): CacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      ...this.#l1.stats(),
      inflightShared: this.#inflight.joins,
      ...(this.#store ? { store: { ...this.#storeStats } } : {}),
    };
  }

  /** Waits for the writes on their way to the store, then closes it; idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#unsubscribe?.();
      await Promise.allSettled([...this.#pendingWrites]);
      await this.#store?.close();
      this.#l1.clear();
    })();
    return this.#closing;
  }

  /** The cache's TTL, or `undefined` when entries do not expire by time (`ttlMs: 0`). */
  #defaultTtl(): number | undefined {
    return this.#ttlMs > 0 ? this.#ttlMs : undefined;
  }

  #addStoreTags(key: string, tags: string[]): void {
    const addTags = this.#store?.addTags;
    if (!addTags || this.#closed) return;
    this.#track(addTags.call(this.#store, key, tags).catch(() => void this.#storeStats.writeFailures++));
  }

  #track(write: Promise<void>): void {
    this.#pendingWrites.add(write);
    void write.finally(() => this.#pendingWrites.delete(write));
  }
}

/** Whether `filter` (every given field must match) covers the stored entry `key`. */
function covers(filter: CacheFilter, key: string, hit: StoreHit): boolean {
  return (filter.key === undefined || filter.key === key) && (filter.source === undefined || filter.source === hit.source) && (filter.tag === undefined || hit.tags.includes(filter.tag));
}
