import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePredicate } from '../../src/data/predicate.js';
import { valueKey } from '../../src/data/values.js';
import type { Row } from '../../src/data/row.js';

/**
 * `eq`, `ne` and `in` compare two numbers or two strings directly, and answer an `in` list of
 * one kind from a Set of its values, without building a key per row. Those fast paths must
 * agree with `valueKey` equality — the merge tree's one definition of "equal" — on every pair,
 * including the kinds that meet across types (decimal strings and numbers, bigints).
 */

const value = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(0, -0, Number.NaN, 1.5, 0.1 + 0.2, 0.3, 2 ** 53, 2 ** 53 + 2, 1e21, Infinity, -Infinity),
  fc.constantFrom('1', '9007199254740992', '1.5', '1.50', '0', '-0', 'NaN', 'a', '', '9007199254740993', '1000000000000000000000'),
  fc.constantFrom(1n, 0n, 9007199254740993n, 10n ** 21n),
  fc.constantFrom(true, false, null),
);

/** SQL three-valued truth of `v = w` by keys: UNKNOWN (null) when either is NULL. */
const keyEq = (v: unknown, w: unknown): boolean | null => (v === null || w === null ? null : valueKey(v) === valueKey(w));

describe('eq / ne / in against valueKey equality', () => {
  it('eq and ne keep a row exactly when the keys say so', () => {
    fc.assert(
      fc.property(value, value, (v, w) => {
        const row: Row = { c: v };
        expect(compilePredicate({ eq: ['c', w as never] })(row)).toBe(keyEq(v, w) === true);
        expect(compilePredicate({ ne: ['c', w as never] })(row)).toBe(keyEq(v, w) === false);
      }),
      { numRuns: 2000 },
    );
  });

  it('in keeps a row exactly when some list entry has its key (lists of one kind and of several)', () => {
    fc.assert(
      fc.property(value, fc.array(value, { minLength: 1, maxLength: 5 }), (v, list) => {
        const row: Row = { c: v };
        const expected = v !== null && list.some((w) => keyEq(v, w) === true);
        expect(compilePredicate({ in: ['c', list as never] })(row)).toBe(expected);
        // `not in` tells FALSE from UNKNOWN: a NULL in the list makes a miss UNKNOWN.
        const unknown = v === null || (!expected && list.includes(null));
        expect(compilePredicate({ not: { in: ['c', list as never] } })(row)).toBe(!expected && !unknown);
      }),
      { numRuns: 2000 },
    );
  });

  it('a number list answers numbers by value, and still matches the decimal strings and bigints equal to them', () => {
    const test = compilePredicate({ in: ['c', [1, 2 ** 53, Number.NaN, 0] as never] });
    // '9007199254740992' is a decimal string (data/decimal.ts): the exact text of 2^53. A short
    // numeric string such as '1' is a string, and a string never equals a number.
    const values = [1, -0, Number.NaN, 2 ** 53, '9007199254740992', 1n, 9007199254740992n, '1', 2];
    expect(values.map((c) => test({ c }))).toEqual([true, true, true, true, true, true, true, false, false]);
  });
});
