import { describe, expect, it } from 'vitest';
import { estimateRowBytes, estimateRowsBytes, estimateValueBytes } from '../../src/data/bytes.js';
import { createLimitCounter, DEFAULT_FRAGMENT_MAX_BYTES } from '../../src/data/limits.js';

describe('the byte estimate', () => {
  it('counts values by the documented rule', () => {
    expect(estimateValueBytes('abc')).toBe(6); // 2 per UTF-16 unit
    expect(estimateValueBytes(Buffer.alloc(10))).toBe(10);
    expect(estimateValueBytes(null)).toBe(0);
    expect(estimateValueBytes(undefined)).toBe(0);
    expect(estimateValueBytes(true)).toBe(4);
    expect(estimateValueBytes(1.5)).toBe(8);
    expect(estimateValueBytes(2n ** 100n)).toBe(16); // 101 bits: two 64-bit words
    expect(estimateValueBytes(new Date(0))).toBe(8);
    expect(estimateValueBytes({ ab: [1, 'xyz'] })).toBe(16 + 2 + (16 + 8) + (16 + 6));
  });

  it('adds 64 per row and 16 plus the name per column', () => {
    expect(estimateRowBytes({ id: 1, name: 'four', gone: null })).toBe(64 + (16 + 2 + 8) + (16 + 4 + 8) + (16 + 4 + 0));
    expect(estimateRowsBytes([])).toBe(0);
    expect(estimateRowsBytes([{ a: 1 }, { a: 2 }])).toBe(2 * (64 + 16 + 1 + 8));
  });

  it('counts an object shared by rows, or reached through a cycle, once', () => {
    const shared = { k: 'v' };
    const one = estimateValueBytes(shared);
    expect(estimateRowsBytes([{ j: shared }, { j: shared }])).toBe(2 * (64 + 16 + 1) + one);
    const cyclic: Record<string, unknown> = { n: 1 };
    cyclic.self = cyclic;
    expect(estimateValueBytes(cyclic)).toBe(16 + 1 + 8 + 16 + 4);
  });

  it('walks a value nested 100,000 levels deep (a JSON body from an API) without overflowing the stack', () => {
    const depth = 100_000;
    const deep = JSON.parse('{"a":'.repeat(depth) + '1' + '}'.repeat(depth)) as unknown;
    expect(estimateValueBytes(deep)).toBe(depth * (16 + 1) + 8);
    const list = JSON.parse('['.repeat(depth) + '"x"' + ']'.repeat(depth)) as unknown;
    expect(estimateRowsBytes([{ j: list }])).toBe(64 + 16 + 1 + depth * 16 + 2);
  });

  it('allocates nothing for a row of scalars, dates and bytes, as every row of a default-bounded fragment is estimated', () => {
    // Every fragment has a byte bound by default: each row a connector returns is estimated.
    // A Set per row (for shared objects a row of scalars cannot have) doubled the cost of a big fragment.
    const made: unknown[] = [];
    const RealSet = globalThis.Set;
    globalThis.Set = class extends RealSet<unknown> {
      constructor(items?: Iterable<unknown> | null) {
        super(items);
        made.push(this);
      }
    } as SetConstructor;
    try {
      const counter = createLimitCounter({ maxBytes: DEFAULT_FRAGMENT_MAX_BYTES }, { fragmentId: 'f' });
      for (let i = 0; i < 100; i++) counter.add({ id: i, name: 'n'.repeat(i), at: new Date(0), blob: Buffer.alloc(3), gone: null });
      const perRow = 64 + (16 + 2 + 8) + (16 + 4) + (16 + 2 + 8) + (16 + 4 + 3) + (16 + 4 + 0);
      expect(counter.bytes).toBe(100 * perRow + 2 * ((99 * 100) / 2));
      expect(made).toHaveLength(0);
      // A batch too (a lone call's rows, a cache entry): one Set per call was a share of every point query.
      const batch = [{ id: 1, name: 'Ann', at: new Date(0) }, { id: 2, name: 'Bob', at: null }];
      expect(estimateRowsBytes(batch)).toBe(2 * (64 + (16 + 2 + 8) + (16 + 4) + (16 + 2)) + 2 * (3 * 2) + 8);
      expect(made).toHaveLength(0);
      // A nested value still gets its Set, shared by the rows after it: an object in two rows is counted once.
      const nested = { k: 'v' };
      const one = estimateValueBytes(nested);
      made.length = 0;
      expect(estimateRowsBytes([{ a: 1 }, { j: nested }, { j: nested }])).toBe(64 + 16 + 1 + 8 + 2 * (64 + 16 + 1) + one);
      expect(made).toHaveLength(1);
      // A nested value still gets its Set: an object twice in one row is counted once.
      const shared = { k: 'v' };
      expect(estimateRowBytes({ a: shared, b: shared })).toBe(64 + (16 + 1) + (16 + 1) + estimateValueBytes(shared));
      expect(made.length).toBeGreaterThan(0);
    } finally {
      globalThis.Set = RealSet;
    }
  });
});
