import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../src/errors.js';
import type { AggregateFn } from '../../src/merge/accumulators.js';
import { aggregate, type AggregateSpec } from '../../src/merge/aggregate.js';
import type { Row } from '../../src/data/row.js';
import { rel } from './support.js';

const all: AggregateSpec[] = [
  { fn: 'count', as: 'rows' },
  { fn: 'count', column: 'v', as: 'values' },
  { fn: 'sum', column: 'v', as: 'sum' },
  { fn: 'avg', column: 'v', as: 'avg' },
  { fn: 'min', column: 'v', as: 'min' },
  { fn: 'max', column: 'v', as: 'max' },
];

describe('aggregate', () => {
  const input = rel([
    { g: 'a', v: 1 },
    { g: 'b', v: null },
    { g: 'a', v: 4 },
    { g: null, v: 2 },
    { g: 'b' },
    { v: 3 },
    { g: 'a', v: 4 },
  ]);

  it('computes every function per group, groups in order of first appearance, nulls as one group', () => {
    const result = aggregate(input, ['g'], all);
    expect(result.columns).toEqual(['g', 'rows', 'values', 'sum', 'avg', 'min', 'max']);
    expect(result.rows).toEqual([
      { g: 'a', rows: 3, values: 3, sum: 9, avg: 3, min: 1, max: 4 },
      { g: 'b', rows: 2, values: 0, sum: null, avg: null, min: null, max: null },
      { g: null, rows: 2, values: 2, sum: 5, avg: 2.5, min: 2, max: 3 },
    ]);
  });

  it('without groupBy returns one row, even on an empty input', () => {
    expect(aggregate(input, undefined, all).rows).toEqual([{ rows: 7, values: 5, sum: 14, avg: 2.8, min: 1, max: 4 }]);
    expect(aggregate(rel([]), undefined, all).rows).toEqual([
      { rows: 0, values: 0, sum: null, avg: null, min: null, max: null },
    ]);
    expect(aggregate(rel([]), [], all).rows).toHaveLength(1);
  });

  it('with groupBy returns no rows on an empty input', () => {
    expect(aggregate(rel([]), ['g'], all)).toEqual({
      columns: ['g', 'rows', 'values', 'sum', 'avg', 'min', 'max'],
      rows: [],
    });
  });

  it('groups 1 with 1n, keeping the first value seen', () => {
    const rows = aggregate(rel([{ k: 1n }, { k: 1 }, { k: '1' }]), ['k'], [{ fn: 'count', as: 'n' }]).rows;
    expect(rows).toEqual([{ k: 1n, n: 2 }, { k: '1', n: 1 }]);
  });

  it('groups by several columns without mixing them up', () => {
    const input = rel([{ a: 'x1:', b: 'y' }, { a: 'x', b: '1:y' }, { a: 'x', b: '1:y' }]);
    const rows = aggregate(input, ['a', 'b'], [{ fn: 'count', as: 'n' }]).rows;
    expect(rows.map((r) => r.n)).toEqual([1, 2]);
  });

  it('sums bigints exactly: a number when safe, else the exact decimal string', () => {
    const big = 2n ** 62n;
    const one = (rows: Row[], fn: AggregateFn): unknown =>
      aggregate(rel(rows), undefined, [{ fn, column: 'v', as: 'out' }]).rows[0]?.out;
    expect(one([{ v: 1n }, { v: 2 }], 'sum')).toBe(3);
    expect(one([{ v: big }, { v: big }], 'sum')).toBe((2n * big).toString());
    expect(one([{ v: 1n }, { v: 0.5 }], 'avg')).toBe(0.75);
    // Integers whose running sum leaves the safe range still add up exactly.
    expect(one([{ v: Number.MAX_SAFE_INTEGER }, { v: 2 }, { v: -3 }], 'sum')).toBe(Number.MAX_SAFE_INTEGER - 1);
    expect(one([{ v: Number.MAX_SAFE_INTEGER }, { v: Number.MAX_SAFE_INTEGER }], 'sum')).toBe('18014398509481982');
  });

  it('takes min and max by the comparison order, returning the original value', () => {
    const rows = rel([{ v: 'b' }, { v: 'a' }, { v: 'c' }, { v: null }]);
    const minMax: AggregateSpec[] = [
      { fn: 'min', column: 'v', as: 'lo' },
      { fn: 'max', column: 'v', as: 'hi' },
    ];
    expect(aggregate(rows, undefined, minMax).rows).toEqual([{ lo: 'a', hi: 'c' }]);
    expect(aggregate(rel([{ v: 5n }, { v: 7 }]), undefined, [{ fn: 'min', column: 'v', as: 'lo' }]).rows[0]?.lo).toBe(5n);
  });

  it('returns null for sum, avg, min and max over an all-null column', () => {
    expect(aggregate(rel([{ v: null }, { v: null }]), undefined, all).rows).toEqual([
      { rows: 2, values: 0, sum: null, avg: null, min: null, max: null },
    ]);
  });

  it('fails with MERGE_FAILED on non-numeric sums, a missing column and duplicate names', () => {
    const codes = [
      () => aggregate(rel([{ v: 'x' }]), undefined, [{ fn: 'sum', column: 'v', as: 's' }], 'merge'),
      () => aggregate(rel([]), ['g'], [{ fn: 'max', as: 'm' }]),
      () => aggregate(rel([]), ['g'], [{ fn: 'count', as: 'g' }]),
    ].map((fn) => {
      try {
        fn();
        return 'no error';
      } catch (error) {
        return isTributaryError(error, 'MERGE_FAILED') ? error.issues[0]?.path : 'other';
      }
    });
    expect(codes).toEqual(['merge.aggregates[0]', 'aggregate.aggregates[0]', 'aggregate']);
  });
});
