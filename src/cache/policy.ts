import type { CacheOverride } from '../plan/index.js';

/** How one fragment uses the cache: for how long its result is kept, and its tags. */
export interface CachePolicy {
  ttlMs: number;
  tags: string[];
}

/**
 * A fragment's cache policy, from the executor's TTL, the plan's `cache` and the fragment's
 * own, the most specific winning: the TTL is the fragment's, else the plan's, else the
 * executor's, where `cache: false` counts as `ttlMs: 0`; tags are the plan's and the
 * fragment's together. A TTL of 0 means the fragment bypasses the cache entirely (no
 * lookup, no store, no in-flight sharing): `undefined`.
 *
 * @example
 * resolveCachePolicy(60_000, { tags: ['crm'] }, { ttlMs: 5_000 })  // { ttlMs: 5000, tags: ['crm'] }
 * resolveCachePolicy(60_000, false, { tags: ['x'] })                 // undefined: the plan said no
 * resolveCachePolicy(60_000, false, { ttlMs: 1_000 })                // { ttlMs: 1000, tags: [] }
 */
export function resolveCachePolicy(executorTtlMs: number, plan: CacheOverride | undefined, fragment: CacheOverride | undefined): CachePolicy | undefined {
  const ttlOf = (o: CacheOverride | undefined): number | undefined => (o === false ? 0 : o?.ttlMs);
  const ttlMs = ttlOf(fragment) ?? ttlOf(plan) ?? executorTtlMs;
  if (ttlMs === 0) return undefined;
  const tags = [...new Set([...((plan && plan.tags) || []), ...((fragment && fragment.tags) || [])])];
  return { ttlMs, tags };
}
