import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchIndices } from '../../src/merge/hash.js';
import { join, type JoinType } from '../../src/merge/join.js';
import { valuesEqual } from '../../src/data/values.js';
import { getColumn, type Row } from '../../src/data/row.js';
import { rel } from './support.js';

/*
 * With one key column and the hash table on the right (no bigger than the left), join reads
 * primitive keys straight from the rows (hash.ts, matchOnPrimitiveKeys); a value without one
 * on either side, even the last, sends both sides to `valueKey`. The matches must be those
 * of SQL `=` (`valuesEqual`) whichever way they were found.
 */

/** For each left row, the right rows it matches by `valuesEqual` on own columns, in right-row order: the definition. */
function nestedLoop(left: Row[], right: Row[]): number[][] {
  return left.map((l) => right.flatMap((r, j) => (valuesEqual(getColumn(l, 'k'), getColumn(r, 'k')) ? [j] : [])));
}

function check(left: Row[], right: Row[]): void {
  expect(matchIndices(left, ['k'], right, ['k']).map((m) => [...m])).toEqual(nestedLoop(left, right));
}

const BIG = 2 ** 60;
// A number beyond 2^53 is its shortest decimal (not 1152921504606846976, the binary value).
const BIG_TEXT = '1152921504606847000';

describe('join on primitive keys', () => {
  it('matches numbers with numbers and bigints, never with strings, booleans or nulls', () => {
    const right = [{ k: 1 }, { k: '1' }, { k: true }, { k: null }, {}, { k: 1n }, { k: -0 }, { k: Number.NaN }];
    const left = [{ k: 1 }, { k: '1' }, { k: 1n }, { k: true }, { k: null }, {}, { k: 0 }, { k: Number.NaN }, { k: 2 }];
    check(left, right);
    expect(matchIndices(left, ['k'], right, ['k'])[0]).toEqual([0, 5]);
  });

  it('sends both sides to valueKey when a decimal string turns up on either side, even last', () => {
    const numbers = [{ k: 1 }, { k: BIG }, { k: 2 }];
    check([...numbers, { k: BIG_TEXT }], numbers);
    check(numbers, [{ k: 3 }, { k: BIG_TEXT }]);
    expect(matchIndices([{ k: 5 }, { k: BIG_TEXT }], ['k'], [{ k: BIG }], ['k'])).toEqual([[], [0]]);
    expect(matchIndices([{ k: BIG }, { k: 5 }], ['k'], [{ k: BIG_TEXT }], ['k'])).toEqual([[0], []]);
  });

  it('sends Dates, Buffers and objects to valueKey, matching by value', () => {
    check([{ k: new Date(5) }, { k: 5 }], [{ k: new Date(5) }]);
    check([{ k: 1 }, { k: Buffer.from([1, 2]) }], [{ k: Buffer.from([1, 2]) }]);
    check([{ k: { a: 1, b: 2 } }, { k: 1 }], [{ k: { b: 2, a: 1 } }]);
  });

  it('gives the same rows with the table on either side', () => {
    const small = [{ k: 2 }, { k: 1 }, { k: 2 }];
    const large = [{ k: 1 }, { k: 2 }, { k: 2 }, { k: 3 }, { k: null }];
    check(large, small);
    check(small, large);
  });

  it('reads own columns only, from rows of any prototype', () => {
    const inherited = Object.create({ k: 1 }) as Row;
    const bare = Object.assign(Object.create(null) as Row, { k: 1 });
    check([inherited, bare, { k: 1 }], [{ k: 1 }, inherited]);
  });

  it('keeps SQL semantics through join: inner, left, semi and anti, right columns renamed', () => {
    const left = rel([{ k: 1, a: 'x' }, { k: null, a: 'y' }, { k: 2, a: 'z' }, { k: BIG, a: 'w' }]);
    const right = rel([{ k: 2, b: 'p' }, { k: BIG_TEXT, b: 'q' }, { k: 2, b: 'r' }]);
    const run = (type: JoinType): Row[] => join(left, right, { type, on: [['k', 'k']], rightName: 'r' }).rows;
    expect(run('inner')).toEqual([
      { k: 2, a: 'z', 'r.k': 2, b: 'p' },
      { k: 2, a: 'z', 'r.k': 2, b: 'r' },
      { k: BIG, a: 'w', 'r.k': BIG_TEXT, b: 'q' },
    ]);
    expect(run('left').map((r) => [r.a, r.b])).toEqual([
      ['x', null],
      ['y', null],
      ['z', 'p'],
      ['z', 'r'],
      ['w', 'q'],
    ]);
    expect(run('semi').map((r) => r.a)).toEqual(['z', 'w']);
    expect(run('anti').map((r) => r.a)).toEqual(['x', 'y']);
  });

  it('agrees with a nested loop over valuesEqual on random keys of mixed kinds', () => {
    const key = fc.oneof(
      { weight: 5, arbitrary: fc.integer({ min: -3, max: 3 }) },
      fc.constantFrom(null, undefined, -0, Number.NaN, 0.5, BIG, BIG_TEXT, '1', 'a', true, 1n, 2n ** 60n, new Date(1)),
    );
    const rows = fc.array(fc.record({ k: key }, { requiredKeys: [] }), { maxLength: 25 });
    fc.assert(
      fc.property(rows, rows, (left, right) => check(left, right)),
      { numRuns: 400 },
    );
  });
});
