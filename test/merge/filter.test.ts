import { describe, expect, it } from 'vitest';
import { filter } from '../../src/merge/filter.js';
import { rel } from './support.js';

describe('filter', () => {
  const input = rel([{ id: 1, v: 5 }, { id: 2, v: null }, { id: 3, v: 5 }, { id: 4 }]);

  it('keeps rows where the predicate is TRUE, duplicates included, as the same objects', () => {
    const result = filter(input, { eq: ['v', 5] });
    expect(result).toEqual({ columns: ['id', 'v'], rows: [input.rows[0], input.rows[2]] });
    expect(result.rows[0]).toBe(input.rows[0]);
  });

  it('drops rows where the predicate is UNKNOWN, whichever way it is negated', () => {
    expect(filter(input, { ne: ['v', 5] }).rows).toEqual([]);
    expect(filter(input, { not: { eq: ['v', 5] } }).rows).toEqual([]);
    expect(filter(input, { isNull: 'v' }).rows.map((r) => r.id)).toEqual([2, 4]);
  });

  it('resolves parameters and reports a missing one at the filter’s path', () => {
    const resolve = (name: string): unknown => (name === 'id' ? 3 : undefined);
    expect(filter(input, { eq: ['id', { $param: 'id' }] }, resolve).rows).toEqual([input.rows[2]]);
    expect(() => filter(input, { eq: ['id', { $param: 'x' }] }, () => undefined, 'merge')).toThrow(/merge\.where\.eq\[1\]/);
  });

  it('returns an empty result on empty input', () => {
    expect(filter(rel([]), { eq: ['v', 5] })).toEqual({ columns: [], rows: [] });
  });
});
