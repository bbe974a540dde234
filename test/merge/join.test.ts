import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../src/errors.js';
import { join, type JoinType } from '../../src/merge/join.js';
import { columnsOf } from '../../src/merge/relation.js';
import { valuesEqual } from '../../src/data/values.js';
import type { Row } from '../../src/data/row.js';
import { rel } from './support.js';

const customers = rel([
  { id: 1, name: 'Ann' },
  { id: 2, name: 'Bob' },
  { id: null, name: 'Nul' },
  { id: 3, name: 'Cy' },
]);
const orders = rel([
  { order: 'a', customer: 2, total: 5 },
  { order: 'b', customer: 1, total: 7 },
  { order: 'c', customer: 2, total: 9 },
  { order: 'd', customer: null, total: 1 },
]);
const on: [string, string][] = [['id', 'customer']];
const spec = (type: JoinType) => ({ type, on, rightName: 'orders' });

describe('join', () => {
  it('inner: left-row order, then each left row’s matches in right-row order', () => {
    const result = join(customers, orders, spec('inner'));
    expect(result.columns).toEqual(['id', 'name', 'order', 'customer', 'total']);
    expect(result.rows.map((r) => [r.name, r.order])).toEqual([
      ['Ann', 'b'],
      ['Bob', 'a'],
      ['Bob', 'c'],
    ]);
  });

  it('left: unmatched left rows (null keys included) get null in every right column', () => {
    const rows = join(customers, orders, spec('left')).rows;
    expect(rows.map((r) => r.order)).toEqual(['b', 'a', 'c', null, null]);
    expect(rows[3]).toEqual({ id: null, name: 'Nul', order: null, customer: null, total: null });
  });

  it('semi: each matching left row once, left columns only', () => {
    const result = join(customers, orders, spec('semi'));
    expect(result).toEqual({ columns: ['id', 'name'], rows: [customers.rows[0], customers.rows[1]] });
  });

  it('anti: left rows without a match, including a null key (NOT EXISTS)', () => {
    expect(join(customers, orders, spec('anti')).rows.map((r) => r.name)).toEqual(['Nul', 'Cy']);
  });

  it('renames clashing right columns after the right input', () => {
    const left = rel([{ id: 1, v: 'l' }]);
    const right = rel([{ id: 1, v: 'r', w: 0 }]);
    const byLeaf = join(left, right, { type: 'inner', on: [['id', 'id']], rightName: 'orders' });
    expect(byLeaf.columns).toEqual(['id', 'v', 'orders.id', 'orders.v', 'w']);
    expect(byLeaf.rows).toEqual([{ id: 1, v: 'l', 'orders.id': 1, 'orders.v': 'r', w: 0 }]);
    const byOperator = join(left, right, { type: 'left', on: [['id', 'id']], rightName: 'right' });
    expect(byOperator.columns).toEqual(['id', 'v', 'right.id', 'right.v', 'w']);
  });

  it('refuses a renamed column that still clashes', () => {
    const left = rel([{ id: 1, 'o.id': 1 }]);
    const right = rel([{ id: 1 }]);
    try {
      join(left, right, { type: 'inner', on: [['id', 'id']], rightName: 'o' }, 'merge');
      expect.unreachable();
    } catch (error) {
      expect(isTributaryError(error, 'MERGE_FAILED')).toBe(true);
    }
  });

  it('matches on several columns, all non-null', () => {
    const left = rel([{ a: 1, b: 'x' }, { a: 1, b: 'y' }, { a: 1, b: null }]);
    const right = rel([{ c: 1, d: 'y', n: 1 }, { c: 1, d: 'x', n: 2 }, { c: 1, d: null, n: 3 }]);
    const rows = join(left, right, { type: 'inner', on: [['a', 'c'], ['b', 'd']], rightName: 'r' }).rows;
    expect(rows.map((r) => [r.b, r.n])).toEqual([
      ['x', 2],
      ['y', 1],
    ]);
  });

  it('matches 1 with 1n but never with "1"', () => {
    const left = rel([{ k: 1 }, { k: '1' }]);
    const right = rel([{ j: 1n }]);
    const rows = join(left, right, { type: 'inner', on: [['k', 'j']], rightName: 'r' }).rows;
    expect(rows).toEqual([{ k: 1, j: 1n }]);
  });

  it('gives the same order whichever side the hash table is built on', () => {
    const matching = {
      left: [{ k: 1, l: 'a' }, { k: 2, l: 'b' }, { k: 1, l: 'c' }],
      right: [{ k: 1, r: 'x' }, { k: 2, r: 'y' }, { k: 1, r: 'z' }],
    };
    const pad = (n: number, col: string): Row[] => Array.from({ length: n }, (_, i) => ({ k: 100 + i, [col]: 'pad' }));
    const expected = [['a', 'x'], ['a', 'z'], ['b', 'y'], ['c', 'x'], ['c', 'z']];
    const run = (left: Row[], right: Row[]) =>
      join(rel(left), rel(right), { type: 'inner', on: [['k', 'k']], rightName: 'r' }).rows.map((r) => [r.l, r.r]);
    // Left bigger: the table is built on the right.
    expect(run([...matching.left, ...pad(5, 'l')], matching.right)).toEqual(expected);
    // Right bigger: the table is built on the left.
    expect(run(matching.left, [...pad(5, 'r'), ...matching.right])).toEqual(expected);
    const biggerRight = rel([...pad(5, 'r'), ...matching.right]);
    const leftJoin = join(rel(matching.left), biggerRight, { type: 'left', on: [['k', 'k']], rightName: 'r' });
    expect(leftJoin.rows.map((r) => r.r)).toEqual(['x', 'z', 'y', 'x', 'z']);
  });

  it('handles empty inputs', () => {
    expect(join(rel([]), orders, spec('inner')).rows).toEqual([]);
    expect(join(customers, rel([]), spec('inner')).rows).toEqual([]);
    expect(join(customers, rel([]), spec('left')).rows).toEqual(customers.rows.map((r) => ({ ...r })));
    expect(join(customers, rel([]), spec('anti')).rows).toEqual(customers.rows);
    expect(join(customers, rel([]), spec('semi')).rows).toEqual([]);
  });
});

describe('join (property)', () => {
  const value = fc.constantFrom<unknown>(null, 1, 1n, 2, '1', 'a', true);
  const table = (key: string, tag: string) =>
    fc
      .array(fc.record({ [key]: value, x: value }), { maxLength: 8 })
      .map((rows) => rows.map((r, i): Row => ({ ...r, [tag]: i })));

  it('inner join equals a naive nested-loop join', () => {
    fc.assert(
      fc.property(table('a', 'li'), table('b', 'ri'), (left, right) => {
        const actual = join(rel(left), rel(right), { type: 'inner', on: [['a', 'b']], rightName: 'r' });
        const expected: Row[] = [];
        for (const l of left) {
          for (const r of right) {
            if (valuesEqual(l.a, r.b)) expected.push({ ...l, b: r.b, 'r.x': r.x, ri: r.ri });
          }
        }
        const leftColumns = columnsOf(left);
        const rightColumns = columnsOf(right).map((c) => (leftColumns.includes(c) ? `r.${c}` : c));
        expect(actual.columns).toEqual([...leftColumns, ...rightColumns]);
        expect(actual.rows).toEqual(expected);
        for (const row of actual.rows) expect(Object.keys(row)).toEqual(actual.columns);
      }),
    );
  });

  it('semi and anti partition the left input in order', () => {
    fc.assert(
      fc.property(table('a', 'li'), table('b', 'ri'), (left, right) => {
        const s = { on: [['a', 'b']] as [string, string][], rightName: 'r' };
        const semi = join(rel(left), rel(right), { ...s, type: 'semi' }).rows;
        const anti = join(rel(left), rel(right), { ...s, type: 'anti' }).rows;
        expect(semi).toEqual(left.filter((l) => right.some((r) => valuesEqual(l.a, r.b))));
        expect(anti).toEqual(left.filter((l) => !right.some((r) => valuesEqual(l.a, r.b))));
      }),
    );
  });
});
