import type { Observable } from 'rxjs';
import { cacheKey, cacheScopeOf, frozenCopy, type TieredCache } from '../cache/index.js';
import type { Row } from '../data/row.js';
import type { RunCache } from '../execution/env.js';
import type { Principal, SourceExecutor } from '../sources/source.js';
import type { PreparedPlan } from './prepare.js';

/** How the executor answers for its sources' versions (asked again by every run). */
export interface SourceVersions {
  /** The source's version now: a string, a promise of one, or undefined when asking failed. */
  current(name: string, source: SourceExecutor): string | undefined | Promise<string | undefined>;
}

/** The most remembered static keys per prepared plan: four scopes' (or versions') worth, and at least 1,024. */
export function memoBound(fragments: number): number {
  return Math.max(1024, 4 * fragments);
}

/**
 * The result cache as one run sees it: keys in its principal's scope (per source: a
 * `shared` source's entries are shared), each fragment's policy from its preparation. A
 * fragment whose query has no references keys to the same string on every run of the same
 * scope and version, so that key is remembered on the prepared plan: a cache hit then costs
 * a map lookup, not a hash. @internal
 */
export class RunCacheView implements RunCache {
  readonly #versions = new Map<string, string | undefined | Promise<string | undefined>>();
  /** The principal's scope (its id and claims), worked out at the run's first lookup. */
  #principalScope: { scope: string | undefined } | undefined;

  constructor(
    readonly cache: TieredCache,
    readonly prepared: PreparedPlan,
    readonly principal: Principal | undefined,
    readonly sources: ReadonlyMap<string, SourceExecutor>,
    readonly versions: SourceVersions,
  ) {}

  keyOf(fragment: number, calls: readonly { query: unknown; params: readonly unknown[] }[]): string | undefined | Promise<string | undefined> {
    const f = this.prepared.fragments[fragment]!;
    const source = this.sources.get(f.source);
    // Unregistered while the run goes on: the name may soon mean another source, so bypass.
    if (!source) return undefined;
    const scope = source.cacheScope === 'shared' ? 'shared' : (this.#principalScope ??= { scope: cacheScopeOf(source.cacheScope, this.principal) }).scope;
    // Claims with no stable form: the run bypasses the cache.
    if (scope === undefined) return undefined;
    const version = this.#versionOf(f.source, source);
    if (version === undefined) return undefined;
    if (typeof version !== 'string') return version.then((v) => (v === undefined ? undefined : this.#key(fragment, calls, scope, v)));
    return this.#key(fragment, calls, scope, version);
  }

  /** Each source's version as this run sees it: asked at its first lookup, then kept for the run. */
  #versionOf(name: string, source: SourceExecutor): string | undefined | Promise<string | undefined> {
    if (this.#versions.has(name)) return this.#versions.get(name);
    const answer = this.versions.current(name, source);
    this.#versions.set(name, answer);
    if (typeof answer === 'object') void answer.then((v) => this.#versions.get(name) === answer && this.#versions.set(name, v));
    return answer;
  }

  #key(fragment: number, calls: readonly { query: unknown; params: readonly unknown[] }[], scope: string, version: string): string | undefined {
    const f = this.prepared.fragments[fragment]!;
    if (calls !== f.staticCalls) return cacheKey({ source: f.source, version, calls, scope });
    const memo = `${fragment}\u0000${version}\u0000${scope}`;
    const keys = this.prepared.keys;
    let key = keys.get(memo);
    if (key === undefined) {
      key = cacheKey({ source: f.source, version, calls, scope });
      if (key === undefined) return key;
      // Bounded: a kept plan run for millions of principals (a scope each) must not keep a key
      // per principal for ever. Past a few scopes' worth it starts again (a miss costs a hash).
      if (keys.size >= memoBound(this.prepared.fragments.length)) keys.clear();
      keys.set(memo, key);
    }
    return key;
  }

  peekStatic(fragment: number, fits?: (rows: Row[]) => boolean): Row[] | undefined {
    const f = this.prepared.fragments[fragment]!;
    if (!f.cache || !f.staticCalls) return undefined;
    const key = this.keyOf(fragment, f.staticCalls);
    return typeof key === 'string' ? this.peek(fragment, key, fits) : undefined;
  }

  peek(fragment: number, key: string, fits?: (rows: Row[]) => boolean): Row[] | undefined {
    const policy = this.prepared.fragments[fragment]!.cache;
    return this.cache.peek(key, policy?.tags ?? [], policy?.ttlMs, fits);
  }

  /** A hit no older than the fragment's own TTL (another fragment may keep the entry longer). */
  get(fragment: number, key: string, onUnavailable: (reason: string) => void, fits?: (rows: Row[]) => boolean): Promise<Row[] | undefined> {
    const policy = this.prepared.fragments[fragment]!.cache;
    return this.cache.get(key, { tags: policy?.tags ?? [], onUnavailable, ...(policy ? { maxAgeMs: policy.ttlMs } : {}), ...(fits ? { fits } : {}) });
  }

  set(fragment: number, key: string, rows: Row[]): Row[] {
    const f = this.prepared.fragments[fragment]!;
    if (!f.cache) return rows;
    // Every caller of the load, and every later hit, gets the cache's own frozen copy.
    const own = frozenCopy(rows);
    this.cache.set(key, own, { source: f.source, tags: f.cache.tags, ttlMs: f.cache.ttlMs });
    return own;
  }

  /**
   * Shared with identical loads of runs under the same terms only: every sharer gets the
   * load's outcome, so one run's tighter row limit, shorter timeout, fewer tries or earlier
   * deadline (its calls carry the budget left, which a SQL source makes a statement timeout)
   * must not fail another's (a stored result is complete, and serves any run that it fits).
   */
  share<T>(fragment: number, key: string, load: Observable<T>, endAt: number): Observable<T> {
    const f = this.prepared.fragments[fragment]!;
    const { maxRows, maxBytes } = this.prepared.rowLimits;
    const terms = `${maxRows ?? ''}/${maxBytes ?? ''}/${f.timeoutMs}/${f.retry.attempts}/${endAt}`;
    return this.cache.share(key, load, f.cache?.tags ?? [], terms);
  }
}
