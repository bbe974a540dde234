import { describe, expect, it } from 'vitest';
import { nest } from '../../src/merge/nest.js';
import { createExecutor, isTributaryError, memorySource, postgresSource, type TributaryError } from '../../src/index.js';
import { pgUrl, requireServer } from '../support/servers.js';

const pg = await requireServer('postgres');
import { rel } from './support.js';

const customers = rel([{ id: 1, name: 'Ann' }, { id: 2, name: 'Bob' }, { id: null, name: 'Nul' }, { id: 1, name: 'Ann2' }]);
const orders = rel([
  { customer: 1, order: 'a' },
  { customer: 2, order: 'b' },
  { customer: 1n, order: 'c' },
  { customer: null, order: 'd' },
]);
function caught(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  return undefined;
}

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

  it('refuses an `as` the parent already has as a column (MERGE_FAILED at `as`), rather than overwrite it', () => {
    const parent = rel([{ orders: 'old', id: 2 }]);
    const error = caught(() => nest(parent, orders, spec, 'merge'));
    expect(isTributaryError(error) && error.code).toBe('MERGE_FAILED');
    expect((error as TributaryError).issues).toEqual([{ path: 'merge.as', message: expect.stringMatching(/parent already has a column "orders"/) as unknown }]);
    // Named columns are known without rows: an empty parent from a SQL source is refused too.
    const named = { rows: [], columns: ['id', 'orders'], named: true };
    expect(isTributaryError(caught(() => nest(named, orders, spec)))).toBe(true);
    // A prototype key is no column of a row: `as: '__proto__'` or `'constructor'` is a new column.
    const proto = nest(rel([{ id: 2 }]), orders, { ...spec, as: 'constructor' });
    expect(proto.columns).toEqual(['id', 'constructor']);
  });

  it('through the executor: a memory table, and a PostgreSQL result with no rows, fail the run at merge.as', async () => {
    const executor = createExecutor({
      sources: { m: memorySource({ tables: { c: [{ id: 1, orders: 3 }], o: [{ customer: 1 }] } }), pg: postgresSource({ url: pgUrl() }) },
    });
    const failure = async (parent: Record<string, unknown>): Promise<unknown> => {
      const result = await executor.execute({
        id: 'nest-as',
        fragments: [parent, { id: 'o', source: 'm', query: { table: 'o' } }],
        merge: { op: 'nest', parent: 'c', child: 'o', on: [['id', 'customer']], as: 'orders' },
      });
      expect(result.status).toBe('failed');
      return result.errors[0];
    };
    try {
      for (const parent of [
        { id: 'c', source: 'm', query: { table: 'c' } },
        ...(pg.skipReason ? [] : [{ id: 'c', source: 'pg', query: { sql: 'SELECT 1 AS id, 2 AS orders WHERE false' } }]),
      ]) {
        const error = await failure(parent);
        expect(isTributaryError(error) && error.code).toBe('MERGE_FAILED');
        expect((error as TributaryError).issues?.[0]?.path).toBe('merge.as');
      }
    } finally {
      await executor.close();
    }
  });

  it('handles empty inputs', () => {
    expect(nest(rel([]), orders, spec)).toEqual({ columns: ['orders'], rows: [] });
    expect(nest(customers, rel([]), spec).rows.map((r) => r.orders)).toEqual([[], [], [], []]);
  });
});
