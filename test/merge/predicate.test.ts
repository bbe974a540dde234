import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../src/errors.js';
import { compilePredicate } from '../../src/data/predicate.js';
import type { Predicate } from '../../src/plan/schema.js';
import type { Row } from '../../src/data/row.js';

const rows: Row[] = [
  { id: 1, region: 'EU', total: 10 },
  { id: 2, region: null, total: 20n },
  { id: 3, region: 'US', total: null },
  { id: 4, total: '30' },
];
const ids = (pred: Predicate, resolve?: (name: string) => unknown): unknown[] =>
  rows.filter(compilePredicate(pred, resolve)).map((r) => r.id);

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('compilePredicate', () => {
  it('compares numbers and bigints numerically', () => {
    expect(ids({ gt: ['total', 15] })).toEqual([2]);
    expect(ids({ le: ['total', 20] })).toEqual([1, 2]);
    expect(ids({ eq: ['total', 20] })).toEqual([2]);
    expect(ids({ ge: ['id', 3] })).toEqual([3, 4]);
    expect(ids({ lt: ['region', 'US'] })).toEqual([1]);
  });

  it('treats mismatched types as UNKNOWN, so neither a test nor its negation passes', () => {
    expect(ids({ lt: ['total', 100] })).toEqual([1, 2]);
    expect(ids({ not: { lt: ['total', 100] } })).toEqual([]);
    expect(ids({ eq: ['total', 30] })).toEqual([]);
    expect(ids({ eq: ['total', '30'] })).toEqual([4]);
  });

  it('makes every comparison with null UNKNOWN', () => {
    expect(ids({ eq: ['region', null] })).toEqual([]);
    expect(ids({ ne: ['region', null] })).toEqual([]);
    expect(ids({ ne: ['region', 'EU'] })).toEqual([3]);
    expect(ids({ not: { eq: ['region', 'EU'] } })).toEqual([3]);
    expect(ids({ not: { eq: ['region', null] } })).toEqual([]);
  });

  it('follows SQL three-valued logic in and / or / not', () => {
    // Row 2: region UNKNOWN; row 4: region missing, also UNKNOWN.
    expect(ids({ or: [{ eq: ['region', 'EU'] }, { eq: ['id', 2] }] })).toEqual([1, 2]);
    expect(ids({ or: [{ eq: ['region', 'XX'] }, { eq: ['id', 99] }] })).toEqual([]);
    expect(ids({ not: { or: [{ eq: ['region', 'EU'] }, { eq: ['id', 99] }] } })).toEqual([3]);
    expect(ids({ and: [{ eq: ['region', 'EU'] }, { eq: ['id', 1] }] })).toEqual([1]);
    // UNKNOWN and FALSE is FALSE, so its negation is TRUE for rows 2 and 4.
    expect(ids({ not: { and: [{ eq: ['region', 'EU'] }, { eq: ['id', 99] }] } })).toEqual([1, 2, 3, 4]);
    // UNKNOWN and TRUE is UNKNOWN: its negation does not pass either.
    expect(ids({ not: { and: [{ eq: ['region', 'EU'] }, { ge: ['id', 1] }] } })).toEqual([3]);
  });

  it('treats null and missing columns as null in isNull', () => {
    expect(ids({ isNull: 'region' })).toEqual([2, 4]);
    expect(ids({ not: { isNull: 'region' } })).toEqual([1, 3]);
    // Inherited members are not columns.
    expect(ids({ isNull: 'constructor' })).toEqual([1, 2, 3, 4]);
    expect(ids({ isNull: '__proto__' })).toEqual([1, 2, 3, 4]);
  });

  it('implements SQL IN, including a null in the list', () => {
    expect(ids({ in: ['id', [1, 3n, '4'] as unknown as number[]] })).toEqual([1, 3]);
    expect(ids({ in: ['id', []] })).toEqual([]);
    expect(ids({ in: ['region', ['EU', null]] })).toEqual([1]);
    expect(ids({ not: { in: ['region', ['EU']] } })).toEqual([3]);
    expect(ids({ not: { in: ['region', ['EU', null]] } })).toEqual([]);
    // x IN () is FALSE for every row, a null x too: NOT IN () keeps them all.
    expect(ids({ not: { in: ['region', []] } })).toEqual([1, 2, 3, 4]);
    expect(ids({ or: [{ in: ['region', []] }, { isNull: 'region' }] })).toEqual([2, 4]);
  });

  it('resolves $param values, including whole in-lists', () => {
    const params: Record<string, unknown> = { r: 'US', ids: [2, 4] };
    const resolve = (name: string): unknown => params[name];
    expect(ids({ eq: ['region', { $param: 'r' }] }, resolve)).toEqual([3]);
    expect(ids({ in: ['id', { $param: 'ids' }] }, resolve)).toEqual([2, 4]);
    expect(ids({ in: ['id', [{ $param: 'r' }, 1]] }, resolve)).toEqual([1]);
  });

  it('accepts in-lists already resolved to arrays (the in-memory source)', () => {
    expect(ids({ in: ['id', [1n, 2n] as unknown as number[]] })).toEqual([1, 2]);
  });

  it('throws MERGE_FAILED with a path for a missing parameter', () => {
    const error = thrown(() => compilePredicate({ and: [{ isNull: 'a' }, { eq: ['a', { $param: 'x' }] }] }));
    expect(isTributaryError(error, 'MERGE_FAILED')).toBe(true);
    expect((error as { issues: unknown }).issues).toEqual([
      { path: 'where.and[1].eq[1]', message: expect.stringContaining('"x"') },
    ]);
  });

  it('throws MERGE_FAILED for an unresolved $from and a non-array in-list parameter', () => {
    const from = thrown(() => compilePredicate({ in: ['id', { $from: 'orders', column: 'id' }] }, () => 1, 'q.where'));
    expect(isTributaryError(from, 'MERGE_FAILED')).toBe(true);
    expect((from as { issues: { path: string }[] }).issues[0]?.path).toBe('q.where.in[1]');
    const scalar = thrown(() => compilePredicate({ in: ['id', { $param: 'p' }] }, () => 1));
    expect(isTributaryError(scalar, 'MERGE_FAILED')).toBe(true);
  });
});
