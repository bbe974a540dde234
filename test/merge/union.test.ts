import { describe, expect, it } from 'vitest';
import { union } from '../../src/merge/union.js';
import { rel } from './support.js';

describe('union', () => {
  it('concatenates in input order and fills missing columns with null', () => {
    const a = rel([{ id: 1, name: 'a' }]);
    const b = rel([{ id: 2, extra: true }, { name: 'c' }]);
    expect(union([a, b])).toEqual({
      columns: ['id', 'name', 'extra'],
      rows: [
        { id: 1, name: 'a', extra: null },
        { id: 2, name: null, extra: true },
        { id: null, name: 'c', extra: null },
      ],
    });
  });

  it('keeps duplicates unless distinct', () => {
    const a = rel([{ id: 1 }, { id: 1 }]);
    expect(union([a, a]).rows).toHaveLength(4);
    expect(union([a, a], true).rows).toEqual([{ id: 1 }]);
  });

  it('treats nulls (and missing columns) as equal for distinct, and 1 as equal to 1n', () => {
    const a = rel([{ id: null, v: 1 }, { v: 1n }, { id: 1, v: '1' }]);
    const b = rel([{ id: 1, v: '1' }, { id: '1', v: '1' }]);
    expect(union([a, b], true).rows).toEqual([
      { id: null, v: 1 },
      { id: 1, v: '1' },
      { id: '1', v: '1' },
    ]);
  });

  it('keeps the first occurrence of a duplicate', () => {
    const rows = union([rel([{ k: 1, tag: 'first' }]), rel([{ k: 1n, tag: 'first' }])], true).rows;
    expect(rows).toHaveLength(1);
    expect(rows[0]?.k).toBe(1);
  });

  it('returns nothing for empty inputs, and new row objects otherwise', () => {
    expect(union([rel([]), rel([])], true)).toEqual({ rows: [], columns: [] });
    const a = rel([{ id: 1 }]);
    expect(union([a]).rows[0]).not.toBe(a.rows[0]);
  });

  it('says named only when every input is, open when any is, and has no such key otherwise', () => {
    const named = { ...rel([{ id: 1 }]), named: true };
    const open = { ...rel([]), open: true };
    expect(Object.keys(union([named, named]))).toEqual(['rows', 'columns', 'named']);
    expect(Object.keys(union([named, rel([{ id: 2 }])]))).toEqual(['rows', 'columns']);
    expect(Object.keys(union([named, open]))).toEqual(['rows', 'columns', 'open']);
    expect(union([])).toEqual({ rows: [], columns: [], named: true });
    expect(union([rel([{ b: 1, a: 2, b2: 3 }])]).columns).toEqual(['b', 'a', 'b2']);
  });
});
