import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { estimateRowsBytes, ResultCache } from '../../src/cache/index.js';
import type { Row } from '../../src/index.js';

/** Rows whose estimate is exactly `bytes` (81 plus an even number). */
function rowsOf(bytes: number): Row[] {
  // 64 per row + 16 + 1 for the column name 's' + 2 per character.
  const rows = [{ s: 'x'.repeat((bytes - 64 - 17) / 2) }];
  expect(estimateRowsBytes(rows)).toBe(bytes);
  return rows;
}

const meta = { source: 's', tags: [] as string[] };

describe('ResultCache', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('evicts the least recently used entries to stay under maxBytes', () => {
    const cache = new ResultCache({ maxEntries: 100, maxBytes: 1000, ttlMs: 0 });
    cache.set('a', rowsOf(301), meta);
    cache.set('b', rowsOf(301), meta);
    cache.set('c', rowsOf(301), meta);
    expect(cache.stats()).toEqual({ entries: 3, bytes: 903, evictions: 0 });
    cache.get('a'); // a is now more recent than b
    cache.set('d', rowsOf(301), meta);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
    expect(cache.get('d')).toBeDefined();
    expect(cache.stats()).toEqual({ entries: 3, bytes: 903, evictions: 1 });
  });

  it('keeps stats().bytes under maxBytes whatever is stored (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.integer({ min: 0, max: 20 }), size: fc.integer({ min: 0, max: 400 }), read: fc.integer({ min: 0, max: 20 }) }), { maxLength: 60 }),
        (ops) => {
          const cache = new ResultCache({ maxEntries: 10, maxBytes: 1500, ttlMs: 0 });
          for (const op of ops) {
            cache.set(String(op.key), [{ s: 'x'.repeat(op.size) }], meta);
            cache.get(String(op.read));
            const stats = cache.stats();
            expect(stats.bytes).toBeLessThanOrEqual(1500);
            expect(stats.entries).toBeLessThanOrEqual(10);
          }
        },
      ),
    );
  });

  it('never keeps an entry larger than maxBytes, nor one with a TTL of 0', () => {
    const cache = new ResultCache({ maxEntries: 10, maxBytes: 500, ttlMs: 0 });
    expect(cache.set('big', rowsOf(601), meta)).toBe(false);
    expect(cache.set('zero', [{ a: 1 }], { ...meta, ttlMs: 0 })).toBe(false);
    expect(cache.stats().entries).toBe(0);
  });

  it('expires entries after their TTL (fake performance clock)', () => {
    vi.useFakeTimers({ toFake: ['performance', 'setTimeout', 'clearTimeout', 'Date'] });
    const cache = new ResultCache({ maxEntries: 10, maxBytes: 10_000, ttlMs: 1000 });
    cache.set('a', [{ a: 1 }], meta);
    cache.set('b', [{ b: 1 }], { ...meta, ttlMs: 5000 });
    vi.advanceTimersByTime(999);
    expect(cache.get('a')).toEqual([{ a: 1 }]);
    vi.advanceTimersByTime(2);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toEqual([{ b: 1 }]);
    vi.advanceTimersByTime(4000);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.stats()).toEqual({ entries: 0, bytes: 0, evictions: 0 });
  });

  it('takes an injected clock', () => {
    let now = 0;
    const cache = new ResultCache({ maxEntries: 10, maxBytes: 10_000, ttlMs: 100, now: () => now });
    cache.set('a', [{ a: 1 }], meta);
    now = 100;
    expect(cache.has('a')).toBe(true);
    now = 101;
    expect(cache.has('a')).toBe(false);
  });

  it('invalidates by source, tag and key, with every given field matching', () => {
    const cache = new ResultCache({ maxEntries: 10, maxBytes: 10_000, ttlMs: 0 });
    cache.set('1', [{ n: 1 }], { source: 'crm', tags: ['customers'] });
    cache.set('2', [{ n: 2 }], { source: 'crm', tags: ['orders'] });
    cache.set('3', [{ n: 3 }], { source: 'shop', tags: ['orders'] });
    cache.set('4', [{ n: 4 }], { source: 'shop', tags: [] });
    expect(cache.invalidate({ source: 'crm', tag: 'orders' })).toBe(1);
    expect(cache.has('2')).toBe(false);
    expect(cache.invalidate({ key: '3', source: 'crm' })).toBe(0);
    expect(cache.invalidate({ key: '3' })).toBe(1);
    expect(cache.invalidate({ tag: 'customers' })).toBe(1);
    expect(cache.invalidate({ source: 'shop' })).toBe(1);
    expect(cache.stats().entries).toBe(0);
    cache.set('5', [{ n: 5 }], meta);
    expect(cache.invalidate()).toBe(1);
  });

  it('adds the tags of a fragment served an entry, so invalidating them reaches it', () => {
    const cache = new ResultCache({ maxEntries: 10, maxBytes: 10_000, ttlMs: 0 });
    cache.set('k', [{ n: 1 }], { source: 's', tags: ['a'] });
    expect(cache.tag('k', ['a', 'b', 'b'])).toEqual(['b']);
    expect(cache.tag('k', ['b'])).toEqual([]);
    expect(cache.invalidate({ tag: 'b' })).toBe(1);
  });
});

describe('estimateRowsBytes', () => {
  it('follows the documented estimate', () => {
    expect(estimateRowsBytes([])).toBe(0);
    // 64 + (16 + 1 + 8) + (16 + 1 + 2*3) + (16 + 1 + 0) + (16 + 1 + 4) + (16 + 1 + 3)
    expect(estimateRowsBytes([{ a: 1, b: 'abc', c: null, d: true, e: Buffer.from('xyz') }])).toBe(64 + 25 + 23 + 17 + 21 + 20);
    // nested JSON: 16 per element/property plus the values; a bigint of more than 64 bits counts more
    expect(estimateRowsBytes([{ j: { k: [1, 2] } }])).toBe(64 + 16 + 1 + (16 + 1 + (16 + 8) * 2));
    expect(estimateRowsBytes([{ b: 2n ** 100n }])).toBe(64 + 17 + 16);
  });

  it('grows with the data and never throws on what rows may hold', () => {
    const cyclic: Record<string, unknown> = { n: 1 };
    cyclic.self = cyclic;
    expect(() => estimateRowsBytes([{ c: cyclic, b: { deep: 1n }, d: new Date(0), u: undefined }])).not.toThrow();
    expect(estimateRowsBytes([{ s: 'x'.repeat(1000) }])).toBeGreaterThan(estimateRowsBytes([{ s: 'x' }]));
  });
});
