import { describe, expect, it } from 'vitest';
import { nest } from '../../src/merge/nest.js';
import { rel } from './support.js';

const customers = rel([{ id: 1, name: 'Ann' }, { id: 2, name: 'Bob' }, { id: null, name: 'Nul' }, { id: 1, name: 'Ann2' }]);
const orders = rel([
  { customer: 1, order: 'a' },
  { customer: 2, order: 'b' },
  { customer: 1n, order: 'c' },
  { customer: null, order: 'd' },
]);
const spec = { on: [['id', 'customer']] as [string, string][], as: 'orders' };

describe('nest', () => {
  it('attaches matching child rows in child order, [] when none, null keys matching nothing', () => {
    const result = nest(customers, orders, spec);
    expect(result.columns).toEqual(['id', 'name', 'orders']);
    expect(result.rows.map((r) => [r.name, (r.orders as { order: string }[]).map((o) => o.order)])).toEqual([
      ['Ann', ['a', 'c']],
      ['Bob', ['b']],
      ['Nul', []],
      ['Ann2', ['a', 'c']],
    ]);
  });

  it('shares the child row objects and copies the parent rows', () => {
    const row = nest(customers, orders, spec).rows[1];
    expect((row?.orders as unknown[])[0]).toBe(orders.rows[1]);
    expect(row).not.toBe(customers.rows[1]);
  });

  it('gives the same answer whichever side is bigger', () => {
    const few = rel([{ id: 1 }]);
    expect(nest(few, orders, spec).rows[0]?.orders).toEqual([orders.rows[0], orders.rows[2]]);
  });

  it('replaces a parent column already named like `as`, in place', () => {
    const parent = rel([{ orders: 'old', id: 2 }]);
    expect(nest(parent, orders, spec)).toEqual({ columns: ['orders', 'id'], rows: [{ orders: [orders.rows[1]], id: 2 }] });
  });

  it('handles empty inputs', () => {
    expect(nest(rel([]), orders, spec)).toEqual({ columns: ['orders'], rows: [] });
    expect(nest(customers, rel([]), spec).rows.map((r) => r.orders)).toEqual([[], [], [], []]);
  });
});
