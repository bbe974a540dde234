import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregate } from '../../src/merge/aggregate.js';
import { compareTotal } from '../../src/data/compare.js';
import { join } from '../../src/merge/join.js';
import { sort, type SortKey } from '../../src/merge/sort.js';
import { valuesEqual } from '../../src/data/values.js';
import type { Row } from '../../src/data/row.js';
import { refAggregate, rel, specs } from './support.js';

/*
 * The operators specialize for columns of only numbers or only strings (primitive hash
 * keys, typed-array aggregates, specialized sort comparators) and fall back to the general
 * code for anything else. These properties check the specialized paths against the plain
 * definitions, on values chosen to hit their edges: -0, NaN, infinities, 1 vs 1n vs '1'.
 */

const numberish = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 1.5, Number.NaN, Infinity, -Infinity, 2 ** 53, 2 ** 60),
  fc.integer({ min: -3, max: 3 }),
);
const anyValue = fc.oneof(
  numberish,
  fc.constantFrom(null, undefined, 1n, 2n ** 60n, 2n ** 60n + 1n, '1', 'a', '', true, false, new Date(1), Buffer.from([1])),
);
const cell = (values: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> => fc.oneof({ weight: 5, arbitrary: values }, { weight: 1, arbitrary: fc.constant(null) });
const rowsOf = (values: fc.Arbitrary<unknown>): fc.Arbitrary<Row[]> =>
  fc.array(fc.record({ g: cell(values), v: cell(values) }), { maxLength: 40 }).map((rows) => rows.map((r, i) => ({ ...r, i })));

/** The definition: a stable sort with `compareTotal` and the documented null placement. */
function refSort(rows: Row[], by: SortKey[]): Row[] {
  return [...rows].sort((a, b) => {
    for (const key of by) {
      const x = a[key.column];
      const y = b[key.column];
      const xNull = x === null || x === undefined;
      const yNull = y === null || y === undefined;
      const nullsFirst = (key.nulls ?? (key.desc === true ? 'first' : 'last')) === 'first';
      if (xNull || yNull) {
        if (xNull && yNull) continue;
        return xNull === nullsFirst ? -1 : 1;
      }
      const c = compareTotal(x, y) * (key.desc === true ? -1 : 1);
      if (c !== 0) return c;
    }
    return 0;
  });
}

describe('specialized paths agree with the definitions', () => {
  it('aggregate over number columns (typed arrays) and primitive group keys', () => {
    fc.assert(
      fc.property(rowsOf(numberish), fc.constantFrom([], ['g'], ['g', 'v']), (rows, groupBy) => {
        const expected = refAggregate(rows, groupBy, specs);
        const got = aggregate(rel(rows), groupBy, specs).rows;
        if (groupBy.length === 0 && rows.length === 0) return;
        expect(got).toEqual(expected);
        // toEqual does not tell -0 from 0: compare the signs of zeros too.
        got.forEach((row, i) => Object.keys(row).forEach((k) => expect(Object.is(row[k], expected[i]![k])).toBe(true)));
      }),
      { numRuns: 300 },
    );
  });

  it('aggregate groups by any values (1 and 1n together, never "1"), with min/max over mixed types', () => {
    fc.assert(
      fc.property(rowsOf(anyValue), (rows) => {
        const minMax = specs.filter((s) => s.fn === 'min' || s.fn === 'max' || s.fn === 'count');
        expect(aggregate(rel(rows), ['g'], minMax).rows).toEqual(refAggregate(rows, ['g'], minMax));
      }),
      { numRuns: 300 },
    );
  });

  it('sort on number, string and mixed columns, one key or several', () => {
    const keys = fc.array(
      fc.record({ column: fc.constantFrom('g', 'v'), desc: fc.boolean(), nulls: fc.constantFrom(undefined, 'first' as const, 'last' as const) }, { requiredKeys: ['column'] }),
      { minLength: 1, maxLength: 2 },
    );
    const strings = fc.constantFrom('a', 'B', 'b', '', 'é', '10');
    fc.assert(
      fc.property(fc.oneof(rowsOf(numberish), rowsOf(strings), rowsOf(anyValue)), keys, (rows, by) => {
        expect(sort(rel(rows), by).rows.map((r) => r.i)).toEqual(refSort(rows, by).map((r) => r.i));
      }),
      { numRuns: 400 },
    );
  });

  it('join on primitive and general keys matches a nested loop over valuesEqual', () => {
    fc.assert(
      fc.property(rowsOf(fc.oneof(numberish, fc.constantFrom(1n, 2n ** 60n, '1', 'a'))), rowsOf(anyValue), (left, right) => {
        const expected: Row[] = [];
        for (const l of left) for (const r of right) if (valuesEqual(l.v, r.g)) expected.push({ g: l.g, v: l.v, i: l.i, 'r.g': r.g, 'r.v': r.v, 'r.i': r.i });
        const got = join(rel(left), rel(right), { type: 'inner', on: [['v', 'g']], rightName: 'r' }).rows;
        expect(got).toEqual(expected.map((row) => Object.fromEntries(Object.entries(row).map(([k, x]) => [k, x ?? null]))));
      }),
      { numRuns: 300 },
    );
  });

  it('reads own columns only, even from rows with other prototypes or prototype-named columns', () => {
    const proto = { v: 'inherited', constructor: 'inherited' };
    const odd = Object.assign(Object.create(proto) as Row, { id: 1 });
    const bare = Object.assign(Object.create(null) as Row, { id: 2, v: 5, constructor: 7 });
    const rows = [odd, bare, { id: 3, v: 4 }];
    expect(sort(rel(rows), [{ column: 'v' }]).rows.map((r) => r.id)).toEqual([3, 2, 1]);
    expect(aggregate(rel(rows), ['constructor'], [{ fn: 'sum', column: 'v', as: 's' }]).rows).toEqual([
      { constructor: null, s: 4 },
      { constructor: 7, s: 5 },
    ]);
    const joined = join(rel(rows), rel([JSON.parse('{"k":7,"__proto__":"p"}') as Row]), {
      type: 'left',
      on: [['constructor', 'k']],
      rightName: 'r',
    }).rows;
    expect(joined.map((r) => [r.id, r.k, Object.hasOwn(r, '__proto__') ? r.__proto__ : 'missing'])).toEqual([
      [1, null, null],
      [2, 7, 'p'],
      [3, null, null],
    ]);
    for (const r of joined) expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
  });
});
