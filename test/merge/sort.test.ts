import { describe, expect, it } from 'vitest';
import { sort } from '../../src/merge/sort.js';
import { rel } from './support.js';

describe('sort', () => {
  const input = rel([
    { id: 1, g: 'b', v: 2 },
    { id: 2, g: 'a', v: null },
    { id: 3, g: 'b', v: 1n },
    { id: 4, g: 'a', v: 3 },
    { id: 5, g: null, v: 2 },
    { id: 6, v: 2 },
  ]);
  const ids = (by: Parameters<typeof sort>[1]): unknown[] => sort(input, by).rows.map((r) => r.id);

  it('sorts by several keys, each ascending or descending', () => {
    // Descending puts the null v of id 2 first within group 'a'.
    expect(ids([{ column: 'g' }, { column: 'v', desc: true }])).toEqual([2, 4, 1, 3, 5, 6]);
    expect(ids([{ column: 'v' }, { column: 'id', desc: true }])).toEqual([3, 6, 5, 1, 4, 2]);
  });

  it('places nulls last ascending and first descending by default (PostgreSQL)', () => {
    expect(ids([{ column: 'v' }])).toEqual([3, 1, 5, 6, 4, 2]);
    expect(ids([{ column: 'v', desc: true }])).toEqual([2, 4, 1, 5, 6, 3]);
  });

  it('honours explicit nulls placement in either direction', () => {
    expect(ids([{ column: 'v', nulls: 'first' }])).toEqual([2, 3, 1, 5, 6, 4]);
    expect(ids([{ column: 'v', desc: true, nulls: 'last' }])).toEqual([4, 1, 5, 6, 3, 2]);
    expect(ids([{ column: 'g', nulls: 'first' }, { column: 'id' }])).toEqual([5, 6, 2, 4, 1, 3]);
  });

  it('is stable: rows equal on every key keep their input order', () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({ k: i % 3, i }));
    const sorted = sort(rel(rows), [{ column: 'k' }]).rows;
    for (let k = 0; k < 3; k++) {
      const seq = sorted.filter((r) => r.k === k).map((r) => r.i as number);
      expect(seq).toEqual([...seq].sort((a, b) => a - b));
    }
  });

  it('orders mixed types by type rank: boolean < number < string < others', () => {
    const mixed = rel([{ v: 'x' }, { v: { o: 1 } }, { v: 10 }, { v: true }, { v: new Date(0) }, { v: false }]);
    expect(sort(mixed, [{ column: 'v' }]).rows.map((r) => r.v)).toEqual([false, true, 10, 'x', new Date(0), { o: 1 }]);
  });

  it('returns a new array, leaving the input order untouched', () => {
    const result = sort(input, [{ column: 'id', desc: true }]);
    expect(result.rows).not.toBe(input.rows);
    expect(input.rows.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(sort(rel([]), [{ column: 'x' }])).toEqual({ columns: [], rows: [] });
  });
});
