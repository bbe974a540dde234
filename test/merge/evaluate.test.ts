import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTributaryError, type ErrorIssue } from '../../src/errors.js';
import { columnsOf, compilePredicate, evaluateMerge, setColumn } from '../../src/merge/index.js';
import type { MergeNode } from '../../src/plan/schema.js';
import type { Row } from '../../src/data/row.js';
import { frozen } from './support.js';

const customers = frozen([
  { id: 1, name: 'Ann', segment: 'BUILDING' },
  { id: 2, name: 'Bob', segment: 'BUILDING' },
  { id: 3, name: 'Cy', segment: 'MACHINERY' },
]);
const orders = frozen([
  { id: 10, customer_id: 1, total: 50 },
  { id: 11, customer_id: 2, total: 70 },
  { id: 12, customer_id: 1, total: 20 },
  { id: 13, customer_id: null, total: 99 },
]);
const inputs = new Map<string, Row[]>([
  ['customers', customers],
  ['orders', orders],
]);

function issuesOf(fn: () => unknown): ErrorIssue[] {
  try {
    fn();
  } catch (error) {
    if (isTributaryError(error, 'MERGE_FAILED')) return error.issues;
    throw error;
  }
  throw new Error('expected MERGE_FAILED');
}

describe('evaluateMerge', () => {
  it('runs the DESIGN example: join, sort, limit', () => {
    const tree: MergeNode = {
      op: 'limit',
      n: 2,
      input: {
        op: 'sort',
        by: [{ column: 'total', desc: true }],
        input: { op: 'join', type: 'inner', left: 'customers', right: 'orders', on: [['id', 'customer_id']] },
      },
    };
    const result = evaluateMerge(tree, inputs);
    expect(result.columns).toEqual(['id', 'name', 'segment', 'orders.id', 'customer_id', 'total']);
    expect(result.rows).toEqual([
      { id: 2, name: 'Bob', segment: 'BUILDING', 'orders.id': 11, customer_id: 2, total: 70 },
      { id: 1, name: 'Ann', segment: 'BUILDING', 'orders.id': 10, customer_id: 1, total: 50 },
    ]);
  });

  it('names clashing columns `right.<column>` when the right input is an operator', () => {
    const tree: MergeNode = {
      op: 'join',
      type: 'left',
      left: 'customers',
      right: { op: 'filter', input: 'orders', where: { gt: ['total', 30] } },
      on: [['id', 'customer_id']],
    };
    const result = evaluateMerge(tree, inputs);
    expect(result.columns).toContain('right.id');
    expect(result.rows.map((r) => r['right.id'])).toEqual([10, 11, null]);
  });

  it('evaluates every operator in one tree', () => {
    const tree: MergeNode = {
      op: 'project',
      columns: ['name', { column: 'spent', as: 'total' }, 'n'],
      input: {
        op: 'sort',
        by: [{ column: 'name' }],
        input: {
          op: 'aggregate',
          groupBy: ['name'],
          aggregates: [
            { fn: 'sum', column: 'total', as: 'spent' },
            { fn: 'count', as: 'n' },
          ],
          input: {
            op: 'join',
            type: 'inner',
            left: { op: 'union', inputs: ['customers', 'customers'], distinct: true },
            right: 'orders',
            on: [['id', 'customer_id']],
          },
        },
      },
    };
    expect(evaluateMerge(tree, inputs).rows).toEqual([
      { name: 'Ann', total: 70, n: 2 },
      { name: 'Bob', total: 70, n: 1 },
    ]);
    const nestTree: MergeNode = { op: 'nest', parent: 'customers', child: 'orders', on: [['id', 'customer_id']], as: 'orders' };
    const nested = evaluateMerge(nestTree, inputs);
    expect(nested.rows.map((r) => (r.orders as Row[]).length)).toEqual([2, 1, 0]);
  });

  it('returns arrays of its own, even for a bare leaf', () => {
    const result = evaluateMerge('customers', inputs);
    expect(result.rows).not.toBe(customers);
    expect(result).toEqual({ rows: customers, columns: ['id', 'name', 'segment'] });
  });

  it('reports a missing fragment result at its path in the tree', () => {
    expect(issuesOf(() => evaluateMerge('nope', inputs))[0]?.path).toBe('merge');
    const join: MergeNode = { op: 'join', type: 'inner', left: 'nope', right: 'orders', on: [['a', 'b']] };
    expect(issuesOf(() => evaluateMerge(join, inputs))[0]?.path).toBe('merge.left');
    const deep: MergeNode = { op: 'limit', n: 1, input: { op: 'union', inputs: ['customers', 'nope'] } };
    expect(issuesOf(() => evaluateMerge(deep, inputs))).toEqual([
      { path: 'merge.input.inputs[1]', message: expect.stringContaining('"nope"') },
    ]);
  });

  it('resolves $param from options.params and fails when one is missing', () => {
    const tree: MergeNode = { op: 'filter', input: 'customers', where: { eq: ['segment', { $param: 'segment' }] } };
    expect(evaluateMerge(tree, inputs, { params: { segment: 'MACHINERY' } }).rows).toEqual([customers[2]]);
    expect(issuesOf(() => evaluateMerge(tree, inputs))[0]?.path).toBe('merge.where.eq[1]');
    // An inherited member of the params object is not a parameter.
    const inherited: MergeNode = { op: 'filter', input: 'customers', where: { eq: ['segment', { $param: 'toString' }] } };
    expect(issuesOf(() => evaluateMerge(inherited, inputs, { params: {} }))[0]?.path).toBe('merge.where.eq[1]');
  });

  it('refuses a $from reference inside a merge filter', () => {
    const tree: MergeNode = {
      op: 'filter',
      input: 'orders',
      where: { in: ['customer_id', { $from: 'customers', column: 'id' }] },
    };
    expect(issuesOf(() => evaluateMerge(tree, inputs))[0]?.path).toBe('merge.where.in[1]');
  });

  it('reports an unknown projected column at its path', () => {
    const tree: MergeNode = { op: 'limit', n: 1, input: { op: 'project', input: 'orders', columns: ['id', 'nope'] } };
    expect(issuesOf(() => evaluateMerge(tree, inputs))[0]?.path).toBe('merge.input.columns[1]');
  });
});

describe('columnsOf', () => {
  it('lists columns in order of first appearance across rows', () => {
    expect(columnsOf([{ b: 1, a: 2 }, { c: 3, a: 4 }, { d: 5 }])).toEqual(['b', 'a', 'c', 'd']);
    expect(columnsOf([])).toEqual([]);
  });
});

describe('a column named __proto__', () => {
  const trees: MergeNode[] = [
    { op: 'union', inputs: ['a', 'b'], distinct: true },
    { op: 'join', type: 'left', left: 'a', right: 'b', on: [['id', 'id']] },
    { op: 'join', type: 'inner', left: 'a', right: 'b', on: [['__proto__', '__proto__']] },
    // `as` must be new to the parent (a parent column of that name is a MERGE_FAILED).
    { op: 'nest', parent: { op: 'project', input: 'a', columns: ['id'] }, child: 'b', on: [['id', 'id']], as: '__proto__' },
    { op: 'project', input: 'a', columns: ['__proto__', { column: 'id', as: '__proto__x' }] },
    { op: 'project', input: 'a', columns: [{ column: 'id', as: '__proto__' }] },
    { op: 'aggregate', input: 'a', groupBy: ['__proto__'], aggregates: [{ fn: 'count', as: 'n' }] },
    { op: 'aggregate', input: 'a', aggregates: [{ fn: 'max', column: 'id', as: '__proto__' }] },
    {
      op: 'sort',
      input: { op: 'filter', input: 'a', where: { not: { isNull: '__proto__' } } },
      by: [{ column: '__proto__' }],
    },
  ];
  // JSON.parse makes `__proto__` an own property, as untrusted source data would.
  const row = (id: number, proto: unknown): Row => JSON.parse(`{"id":${id},"__proto__":${JSON.stringify(proto)}}`) as Row;
  const payload = fc.oneof(fc.constant({ polluted: 'yes' }), fc.constant(null), fc.integer(), fc.string());
  const table = fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), payload), { maxLength: 6 });

  it('never pollutes Object.prototype and always yields plain rows', () => {
    fc.assert(
      fc.property(table, table, (a, b) => {
        const data = new Map<string, Row[]>([
          ['a', frozen(a.map(([id, p]) => row(id, p)))],
          ['b', frozen(b.map(([id, p]) => row(id, p)))],
        ]);
        for (const tree of trees) {
          const result = evaluateMerge(tree, data);
          for (const out of result.rows) {
            expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
            if (result.columns.includes('__proto__')) expect(Object.hasOwn(out, '__proto__')).toBe(true);
          }
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        }
      }),
    );
  });

  it('is read and written as an ordinary column', () => {
    const input = frozen([row(1, { polluted: 'yes' })]);
    expect(Object.hasOwn(input[0] ?? {}, '__proto__')).toBe(true);
    const tree: MergeNode = {
      op: 'project',
      input: 'a',
      columns: [
        { column: '__proto__', as: 'p' },
        { column: 'id', as: '__proto__' },
      ],
    };
    const result = evaluateMerge(tree, new Map([['a', input]]));
    expect(result.rows).toHaveLength(1);
    expect(result.rows[0]?.p).toEqual({ polluted: 'yes' });
    expect(Object.getOwnPropertyDescriptor(result.rows[0], '__proto__')?.value).toBe(1);
    expect(compilePredicate({ eq: ['__proto__', 1] })(result.rows[0] ?? {})).toBe(true);
    const target: Row = {};
    setColumn(target, '__proto__', { polluted: 'yes' });
    expect(Object.getPrototypeOf(target)).toBe(Object.prototype);
  });
});
