import { describe, expect, it } from 'vitest';
import { resolveCachePolicy } from '../../src/cache/index.js';

describe('resolveCachePolicy', () => {
  it('takes the most specific TTL: fragment, then plan, then executor', () => {
    expect(resolveCachePolicy(60_000, undefined, undefined)).toEqual({ ttlMs: 60_000, tags: [] });
    expect(resolveCachePolicy(60_000, { ttlMs: 5000 }, undefined)).toEqual({ ttlMs: 5000, tags: [] });
    expect(resolveCachePolicy(60_000, { ttlMs: 5000 }, { ttlMs: 100 })).toEqual({ ttlMs: 100, tags: [] });
    expect(resolveCachePolicy(60_000, { ttlMs: 5000 }, { tags: ['a'] })).toEqual({ ttlMs: 5000, tags: ['a'] });
  });

  it('bypasses on cache: false or ttlMs: 0 at the most specific level that sets a TTL', () => {
    expect(resolveCachePolicy(60_000, undefined, false)).toBeUndefined();
    expect(resolveCachePolicy(60_000, undefined, { ttlMs: 0 })).toBeUndefined();
    expect(resolveCachePolicy(60_000, false, undefined)).toBeUndefined();
    expect(resolveCachePolicy(60_000, false, { tags: ['a'] })).toBeUndefined();
    expect(resolveCachePolicy(60_000, { ttlMs: 0 }, undefined)).toBeUndefined();
    expect(resolveCachePolicy(0, undefined, undefined)).toBeUndefined();
    expect(resolveCachePolicy(60_000, { ttlMs: 5000 }, false)).toBeUndefined();
    // a fragment that names its own TTL caches under a plan that said no
    expect(resolveCachePolicy(60_000, false, { ttlMs: 1000 })).toEqual({ ttlMs: 1000, tags: [] });
    expect(resolveCachePolicy(0, undefined, { ttlMs: 1000 })).toEqual({ ttlMs: 1000, tags: [] });
  });

  it('unites the plan and fragment tags', () => {
    expect(resolveCachePolicy(1, { tags: ['a', 'b'] }, { tags: ['b', 'c'] })).toEqual({ ttlMs: 1, tags: ['a', 'b', 'c'] });
  });
});
