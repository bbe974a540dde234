import { LRUCache } from 'lru-cache';
import { TributaryError } from '../src/errors.js';

/**
 * How many states the cached query machines may hold together: every shape a default plan
 * can have (up to 100 levels: 5,450 states) stays cached for good; a service that raised
 * `limits.maxDepth` and meets plans of ever new depths keeps the most recently used ones
 * (about 1.5 KB a state) instead of every definition it ever built (all depths up to 1,000:
 * 500,000 states, ~770 MB).
 */
export const MAX_CACHED_MACHINE_STATES = 20_000;

/**
 * One machine definition per plan shape (its number of levels), built on first use and
 * shared by every run of that shape, in a cache bounded by their states (a definition of
 * `n` levels has `n + 4`). A shape larger than the whole bound is built for each run. A
 * level count that no plan can have (not a whole number ≥ 1) fails with PLAN_INVALID. @internal
 */
export function shapeCache<M extends object>(build: (levelCount: number) => M, maxStates = MAX_CACHED_MACHINE_STATES): (levelCount: number) => M {
  const cache = new LRUCache<number, M>({ maxSize: maxStates, sizeCalculation: (_m, levelCount) => levelCount + 4 });
  return (levelCount) => {
    if (!Number.isSafeInteger(levelCount) || levelCount < 1) {
      const message = `a query machine needs a whole number of levels, at least 1 (got ${typeof levelCount === 'number' ? String(levelCount) : typeof levelCount})`;
      throw new TributaryError('PLAN_INVALID', message, { issues: [{ path: 'levelCount', message }] });
    }
    let machine = cache.get(levelCount);
    if (!machine) {
      machine = build(levelCount);
      cache.set(levelCount, machine);
    }
    return machine;
  };
}
