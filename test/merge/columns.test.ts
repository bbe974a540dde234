import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { columnsOf, withColumns } from '../../src/data/columns.js';
import type { Row } from '../../src/data/row.js';
import { evaluateMerge } from '../../src/merge/evaluate.js';
import { columnsOf as relationColumnsOf } from '../../src/merge/relation.js';
import type { MergeNode } from '../../src/plan/schema.js';

const empty = (columns: string[]): Row[] => withColumns([], columns);

describe('withColumns / columnsOf', () => {
  it('attaches names that JSON, spreading and iteration do not see', () => {
    const rows = withColumns([{ a: 1 }], ['a', 'b']);
    expect(columnsOf(rows)).toEqual(['a', 'b']);
    expect(JSON.stringify(rows)).toBe('[{"a":1}]');
    expect(Object.keys(rows)).toEqual(['0']);
    expect(columnsOf([...rows])).toBeUndefined();
    expect(columnsOf([])).toBeUndefined();
    // The caller gets a copy: changing it changes nothing attached.
    columnsOf(rows)?.push('c');
    expect(columnsOf(rows)).toEqual(['a', 'b']);
  });
});

describe('zero-row results keep their columns through the merge operators', () => {
  const inputs = new Map<string, Row[]>([
    ['customers', empty(['id', 'name'])],
    ['orders', empty(['id', 'customer_id', 'total'])],
    ['rows', [{ id: 1, name: 'Ann' }]],
  ]);
  const cases: [string, MergeNode, string[]][] = [
    ['a leaf', 'customers', ['id', 'name']],
    ['join (right names renamed)', { op: 'join', type: 'inner', left: 'customers', right: 'orders', on: [['id', 'customer_id']] }, ['id', 'name', 'orders.id', 'customer_id', 'total']],
    ['left join', { op: 'join', type: 'left', left: 'customers', right: 'orders', on: [['id', 'customer_id']] }, ['id', 'name', 'orders.id', 'customer_id', 'total']],
    ['semi join', { op: 'join', type: 'semi', left: 'orders', right: 'customers', on: [['customer_id', 'id']] }, ['id', 'customer_id', 'total']],
    ['project', { op: 'project', input: 'orders', columns: ['total', { column: 'id', as: 'order' }] }, ['total', 'order']],
    ['aggregate', { op: 'aggregate', input: 'orders', groupBy: ['customer_id'], aggregates: [{ fn: 'sum', column: 'total', as: 'spent' }] }, ['customer_id', 'spent']],
    ['filter, sort, limit', { op: 'limit', n: 5, input: { op: 'sort', by: [{ column: 'total' }], input: { op: 'filter', where: { gt: ['total', 10] }, input: 'orders' } } }, ['id', 'customer_id', 'total']],
    ['union', { op: 'union', inputs: ['customers', 'orders'] }, ['id', 'name', 'customer_id', 'total']],
    ['nest', { op: 'nest', parent: 'customers', child: 'orders', on: [['id', 'customer_id']], as: 'orders' }, ['id', 'name', 'orders']],
  ];
  it.each(cases)('%s', (_, node, columns) => {
    const result = evaluateMerge(node, inputs);
    expect(result.rows).toEqual([]);
    expect(result.columns).toEqual(columns);
  });

  it('an empty right side still gives a left join its right columns (as nulls)', () => {
    const result = evaluateMerge({ op: 'join', type: 'left', left: 'rows', right: 'orders', on: [['id', 'customer_id']] }, inputs);
    expect(result.rows).toEqual([{ id: 1, name: 'Ann', 'orders.id': null, customer_id: null, total: null }]);
  });

  it('a projection of a column the source did not name fails even on zero rows', () => {
    expect(() => evaluateMerge({ op: 'project', input: 'orders', columns: ['nope'] }, inputs)).toThrow(/column "nope" is not in the input/);
  });
});

describe('a streaming merge knows its output columns without a row', () => {
  it('from the first (empty) batch of each streaming leaf and the materialized leaves', async () => {
    const { planStream } = await import('../../src/merge/stream.js');
    const node: MergeNode = { op: 'limit', n: 3, input: { op: 'project', columns: ['total', { column: 'name', as: 'who' }], input: { op: 'join', type: 'left', left: 'orders', right: 'customers', on: [['customer_id', 'id']] } } };
    const stream = planStream(node);
    expect(stream?.leaves).toEqual(new Set(['orders']));
    const flow = stream!.start({ params: {}, materialize: () => Promise.resolve(empty(['id', 'name'])), leafColumns: (leaf) => (leaf === 'customers' ? ['id', 'name'] : undefined) });
    expect(await flow.push('orders', empty(['id', 'customer_id', 'total']))).toEqual([]);
    expect(flow.columns()).toEqual(['total', 'who']);
    const joined = planStream({ op: 'join', type: 'left', left: 'orders', right: 'customers', on: [['customer_id', 'id']] })!.start({
      params: {},
      materialize: () => Promise.resolve(empty(['id', 'name'])),
      leafColumns: (leaf) => (leaf === 'customers' ? ['id', 'name'] : undefined),
    });
    expect(await joined.push('orders', withColumns([{ id: 1, customer_id: 9, total: 5 }], ['id', 'customer_id', 'total']))).toEqual([{ id: 1, customer_id: 9, total: 5, 'customers.id': null, name: null }]);
    expect(joined.columns()).toEqual(['id', 'customer_id', 'total', 'customers.id', 'name']);
  });
});

describe('the columns of rows that carry none (relation.columnsOf)', () => {
  /** The definition: every row's own enumerable keys, in order of first appearance. */
  const reference = (rows: readonly Row[]): string[] => [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const key = fc.constantFrom('a', 'b', 'c', '0', '12', '__proto__', 'constructor');
  const rowArb = fc.tuple(fc.uniqueArray(key, { maxLength: 5 }), fc.constantFrom('plain', 'null', 'inherits', 'class')).map(([keys, kind]) => {
    // An inherited enumerable column must not count: only own keys are columns.
    const row: Row = kind === 'null' ? (Object.create(null) as Row) : kind === 'inherits' ? (Object.create({ b: 1, z: 2 }) as Row) : kind === 'class' ? (new (class R {})() as Row) : {};
    for (const k of keys) Object.defineProperty(row, k, { value: k, enumerable: true, writable: true, configurable: true });
    return row;
  });

  it('are every row’s own keys in order of first appearance, whatever the rows’ shapes and prototypes', () => {
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 12 }), (rows) => {
        expect(relationColumnsOf(rows)).toEqual(reference(rows));
      }),
      { numRuns: 500 },
    );
  });

  it('a row that inherits the previous row’s keys adds nothing, a row that owns a new one adds it', () => {
    const rows: Row[] = [{ a: 1, b: 2 }, Object.create({ a: 0, b: 0 }) as Row, Object.assign(Object.create({ a: 0 }) as Row, { c: 3 })];
    expect(relationColumnsOf(rows)).toEqual(['a', 'b', 'c']);
  });
});
