import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../src/errors.js';
import { aggregate, type AggregateSpec } from '../../src/merge/aggregate.js';
import { onePassAggregate, scanGroups } from '../../src/merge/group-scan.js';
import type { Row } from '../../src/data/row.js';
import { refAggregate, rel, specs } from './support.js';

/*
 * The one-pass aggregate (group-scan.ts) takes one group column of primitive keys and one
 * column of numbers whose sums stay exact as doubles, and hands anything else to the two-pass
 * path. These tests walk its boundaries: the answer must be the definition's (the general
 * accumulators over `groupKey` groups) whichever path gave it, and the path taken is the
 * documented one.
 */

/** The aggregate, checked against the definition with -0 told from 0; whether one pass answered. */
function check(rows: Row[], groupBy: readonly string[], aggregates: AggregateSpec[] = specs): boolean {
  const got = aggregate(rel(rows), groupBy, aggregates).rows;
  // The definition has no group on no rows; SQL's global aggregate still answers (aggregate.test.ts).
  const expected = groupBy.length === 0 && rows.length === 0 ? got : refAggregate(rows, groupBy, aggregates);
  expect(got).toEqual(expected);
  got.forEach((row, i) => Object.keys(row).forEach((k) => expect(Object.is(row[k], expected[i]?.[k])).toBe(true)));
  return groupBy.length <= 1 && onePassAggregate(rows, groupBy[0], aggregates) !== undefined;
}

const MAX = Number.MAX_SAFE_INTEGER;

describe('one-pass aggregate', () => {
  it('answers for number or string keys and integer values, nulls and missing columns as one group', () => {
    expect(check([{ g: 1, v: 2 }, { g: 'x', v: 3 }, { g: null, v: 4 }, { v: 5 }, { g: 1, v: null }, { g: 1 }], ['g'])).toBe(true);
    expect(check([{ g: 1, v: 2 }, { g: 2, v: -3 }], [])).toBe(true);
    expect(check([], ['g'])).toBe(true);
    expect(check([], [])).toBe(true);
  });

  it('keeps 1 and "1" apart and -0 with 0 (the first row gives the key), NaN with NaN', () => {
    expect(check([{ g: 1, v: 1 }, { g: '1', v: 2 }, { g: true, v: 3 }], ['g'])).toBe(true);
    expect(check([{ g: -0, v: 1 }, { g: 0, v: 2 }, { g: Number.NaN, v: 3 }, { g: Number.NaN, v: 4 }], ['g'])).toBe(true);
    expect(Object.is(aggregate(rel([{ g: -0 }, { g: 0 }]), ['g'], [{ fn: 'count', as: 'n' }]).rows[0]?.g, -0)).toBe(true);
  });

  it('hands a key column with a value of another kind to groupKey, mid-column too, with the same groups', () => {
    const big = 2 ** 60;
    // The decimal string of 2^60 is the number 2^60: one group, though the first value is a number.
    expect(check([{ g: big, v: 1 }, { g: 1, v: 1 }, { g: '1152921504606846976', v: 2 }], ['g'])).toBe(false);
    expect(check([{ g: 1, v: 1 }, { g: 1n, v: 2 }, { g: 2n ** 64n, v: 3 }], ['g'])).toBe(true);
    expect(check([{ g: 'a', v: 1 }, { g: new Date(1), v: 2 }, { g: new Date(1), v: 3 }, { g: 'a', v: 4 }], ['g'])).toBe(false);
    expect(check([{ g: Buffer.from([1]), v: 1 }, { g: Buffer.from([1]), v: 2 }], ['g'])).toBe(false);
  });

  it('finds small integer keys by index with the same groups as the Map: a key a bigint gave first, -0, keys past the index', () => {
    // 1n reaches the Map (as 1) before the number 1 reaches the index: one group, not two.
    expect(check([{ g: 2, v: 1 }, { g: 1n, v: 2 }, { g: 1, v: 3 }, { g: 2n, v: 4 }, { g: 1, v: 5 }], ['g'])).toBe(true);
    expect(aggregate(rel([{ g: 1n, v: 2 }, { g: 1, v: 3 }]), ['g'], [{ fn: 'count', as: 'n' }]).rows).toEqual([{ g: 1n, n: 2 }]);
    // -0 and 0 one group, either first; 1.5, NaN, -1 and keys past the rows' count go to the Map, mid-column.
    expect(check([{ g: 0, v: 1 }, { g: -0, v: 2 }, { g: 1.5, v: 3 }, { g: -1, v: 4 }, { g: 7, v: 5 }, { g: 0, v: 6 }, { g: 'a', v: 7 }, { g: 7, v: 8 }], ['g'])).toBe(true);
    expect(check([{ g: -0, v: 1 }, { g: 0, v: 2 }, { g: Number.NaN, v: 3 }, { g: 2 ** 31, v: 4 }, { g: 2 ** 32, v: 5 }, { g: 2 ** 31, v: 6 }], ['g'])).toBe(true);
    // Group numbering with `ids` (two aggregated columns: the two-pass path numbers the groups by the same scan).
    const two: AggregateSpec[] = [...specs, { fn: 'sum', column: 'w', as: 'ws' }];
    expect(check([{ g: 3n, v: 1, w: 1 }, { g: 3, v: 2, w: 2 }, { g: 0, v: 3, w: 3 }, { g: -0, v: 4, w: 4 }, { g: 3, v: 5, w: 5 }], ['g'], two)).toBe(false);
    // Past the index (65,536 slots at most): the Map, with the first row's key.
    const many = Array.from({ length: 70_000 }, (_, i) => ({ g: i % 3 === 0 ? 69_999 - (i % 1000) : i % 1000, v: i % 7 }));
    expect(check(many, ['g'])).toBe(true);
  });

  it('sums integers as doubles only while every partial sum is safe; beyond, exactly', () => {
    // Added as doubles, MAX + 1 + 1 rounds to 2^53 and the total would come out 1.
    expect(check([{ v: MAX }, { v: 1 }, { v: 1 }, { v: -MAX }], [])).toBe(false);
    expect(aggregate(rel([{ v: MAX }, { v: 1 }, { v: 1 }, { v: -MAX }]), [], [{ fn: 'sum', column: 'v', as: 's' }]).rows).toEqual([{ s: 2 }]);
    expect(check([{ v: 2 ** 53 }, { v: 1 }, { v: -(2 ** 53) }], [])).toBe(false);
    // The bound is the sum of |value| over all groups, in whichever group each value falls.
    expect(check([{ g: 1, v: MAX - 1 }, { g: 2, v: -1 }], ['g'])).toBe(true);
    expect(check([{ g: 1, v: MAX }, { g: 2, v: -1 }], ['g'])).toBe(false);
    // Without a sum the magnitude does not matter: min, max and count stay on one pass.
    const minMax = specs.filter((s) => s.fn !== 'sum' && s.fn !== 'avg');
    expect(check([{ v: 2 ** 60 }, { v: 2 ** 60 }, { v: 0.5 }], [], minMax)).toBe(true);
  });

  it('hands fractions, decimals of any scale, bigints and decimal strings to the exact path', () => {
    expect(check([{ v: 0.1 }, { v: 0.2 }], [])).toBe(false);
    expect(aggregate(rel([{ v: 0.1 }, { v: 0.2 }]), [], [{ fn: 'sum', column: 'v', as: 's' }]).rows).toEqual([{ s: 0.3 }]);
    expect(check([{ g: 1, v: 1 }, { g: 1, v: 12.5 }, { g: 2, v: 0.125 }, { g: 2, v: -3 }], ['g'])).toBe(false);
    expect(check([{ v: 1 }, { v: 2n ** 60n }], [])).toBe(false);
    expect(check([{ v: 1 }, { v: '12345678901234567.5' }], [])).toBe(false);
    expect(check([{ v: Infinity }, { v: 1 }, { v: Number.NaN }], [])).toBe(false);
  });

  it('fails on a value that cannot be added up, as the general path does', () => {
    const run = (): unknown => aggregate(rel([{ g: 1, v: 1 }, { g: 1, v: 'x' }]), ['g'], specs);
    expect(run).toThrow();
    try {
      run();
    } catch (error) {
      expect(isTributaryError(error) && error.code).toBe('MERGE_FAILED');
    }
    expect(onePassAggregate([{ v: 1 }, { v: 'x' }], undefined, specs)).toBeUndefined();
  });

  it('leaves several aggregated columns and several group columns to two passes', () => {
    const two: AggregateSpec[] = [...specs, { fn: 'sum', column: 'g', as: 'gs' }];
    expect(check([{ g: 1, v: 2 }, { g: 1, v: 3 }], ['g'], two)).toBe(false);
    expect(check([{ g: 1, v: 2 }, { g: 1, v: 3 }, { g: 2, v: 3 }], ['g', 'v'])).toBe(false);
  });

  it('takes one pass on random primitive keys and integer values, with the definition\'s answer', () => {
    const key = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(-0, Number.NaN, 0.5, 'a', '1', '', true, null, undefined, 1n));
    const value = fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.constantFrom(null, undefined, -0));
    const rows = fc.array(fc.record({ g: key, v: value }, { requiredKeys: [] }), { maxLength: 30 });
    fc.assert(
      fc.property(rows, fc.constantFrom([], ['g']), (input, groupBy) => {
        expect(check(input, groupBy)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with the definition on random columns of mixed kinds', () => {
    const key = fc.oneof(
      fc.integer({ min: -3, max: 3 }),
      fc.constantFrom(0, -0, Number.NaN, 1.5, 2 ** 60, '1', 'a', '', true, null, undefined, 1n, 2n ** 60n, '1152921504606846976'),
    );
    const value = fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: -1000, max: 1000 }) },
      fc.constantFrom(null, undefined, -0, 0.1, 12.5, -0.25, MAX, -MAX, 2 ** 53, Number.NaN, Infinity, 1n, '12345678901234567.5'),
    );
    const rows = fc.array(fc.record({ g: key, v: value }, { requiredKeys: [] }), { maxLength: 30 });
    fc.assert(
      fc.property(rows, fc.constantFrom([], ['g']), (input, groupBy) => {
        check(input, groupBy);
      }),
      { numRuns: 400 },
    );
  });
});

describe('the group scan\'s direct index', () => {
  const keyed = (n: number, key: (i: number) => unknown): Row[] => Array.from({ length: n }, (_, i) => ({ k: key(i), v: i }));

  it('is allocated only on the first small-integer key: string keys and a global aggregate allocate no slots', () => {
    expect(scanGroups(keyed(100_000, (i) => `s${i % 7}`), 'k', undefined, undefined)?.directSlots).toBe(0);
    expect(scanGroups(keyed(100_000, (i) => i), undefined, undefined, undefined)?.directSlots).toBe(0);
    // Negative, fractional and large integers have no slot either.
    expect(scanGroups(keyed(1000, (i) => -i - 0.5), 'k', undefined, undefined)?.directSlots).toBe(0);
    expect(scanGroups(keyed(1000, (i) => 70_000 + i), 'k', undefined, undefined)?.directSlots).toBe(0);
  });

  it('holds min(rows, 65,536) slots once a small-integer key is met, late in the rows too, and groups alike either way', () => {
    expect(scanGroups(keyed(100_000, (i) => i % 10), 'k', undefined, undefined)?.directSlots).toBe(65_536);
    expect(scanGroups(keyed(50, (i) => i % 10), 'k', undefined, undefined)?.directSlots).toBe(50);
    const mixed = keyed(2000, (i) => (i < 1500 ? `s${i % 3}` : i % 4));
    const scan = scanGroups(mixed, 'k', undefined, undefined);
    expect(scan?.directSlots).toBe(2000);
    expect(scan?.groups.map((g) => [g.first, g.rows])).toEqual([[0, 500], [1, 500], [2, 500], [1500, 125], [1501, 125], [1502, 125], [1503, 125]]);
  });
});
