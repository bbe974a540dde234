import { describe, expect, it } from 'vitest';
import { limit } from '../../src/merge/limit.js';
import { rel } from './support.js';

describe('limit', () => {
  const input = rel([{ i: 0 }, { i: 1 }, { i: 1 }, { i: null }, { i: 4 }]);

  it('keeps the first n rows after offset', () => {
    expect(limit(input, 2).rows).toEqual([{ i: 0 }, { i: 1 }]);
    expect(limit(input, 2, 2).rows).toEqual([{ i: 1 }, { i: null }]);
    expect(limit(input, 10, 3).rows).toEqual([{ i: null }, { i: 4 }]);
  });

  it('returns nothing for n = 0, an offset past the end, or an empty input', () => {
    expect(limit(input, 0).rows).toEqual([]);
    expect(limit(input, 3, 9).rows).toEqual([]);
    expect(limit(rel([]), 3)).toEqual({ columns: [], rows: [] });
  });

  it('returns a new array of the same row objects', () => {
    const result = limit(input, 5);
    expect(result.rows).not.toBe(input.rows);
    expect(result.rows[0]).toBe(input.rows[0]);
    expect(result.columns).toEqual(['i']);
  });
});
