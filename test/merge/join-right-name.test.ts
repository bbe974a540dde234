import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, isTributaryError, memorySource, type Executor } from '../../src/index.js';

/**
 * A three-way join whose two right sides are operators: both would qualify a clashing
 * column `right.<column>`. SQL gives each derived table an alias (`JOIN (…) AS p`); a join
 * takes one as `rightAs`. Without it the clash is refused before anything runs when the
 * columns are known from the plan (a project or aggregate names them), else at the merge,
 * with the columns and the fix named, evaluated or streamed.
 */

const tables = {
  customers: [{ id: 1, name: 'Ann' }, { id: 2, name: 'Bob' }],
  orders: [{ id: 10, customer_id: 1, total: 5 }],
  payments: [{ id: 20, customer_id: 1, amount: 7 }, { id: 21, customer_id: 2, amount: 9 }],
};
const fragments = Object.keys(tables).map((t) => ({ id: t, source: 'mem', query: { table: t } }));
const byCustomer = (t: string) => ({ op: 'filter', input: t, where: { ge: ['customer_id', 0] } });
const projected = (t: string, value: string) => ({ op: 'project', input: t, columns: ['id', 'customer_id', value] });
const threeWay = (right1: unknown, right2: unknown, rightAs?: [string | undefined, string | undefined], left: unknown = 'customers') => ({
  op: 'join',
  type: 'left',
  left: { op: 'join', type: 'left', left, right: right1, on: [['id', 'customer_id']], ...(rightAs?.[0] ? { rightAs: rightAs[0] } : {}) },
  right: right2,
  on: [['id', 'customer_id']],
  ...(rightAs?.[1] ? { rightAs: rightAs[1] } : {}),
});

const executors: Executor[] = [];
const executor = (): Executor => {
  const e = createExecutor({ cache: false, sources: { mem: memorySource({ tables }) } });
  executors.push(e);
  return e;
};
afterEach(async () => {
  await Promise.all(executors.splice(0).map((e) => e.close()));
});

describe('a join over a join, both right sides operators', () => {
  it('rightAs names each right side: its clashing columns are "<rightAs>.<column>", evaluated and streamed alike', async () => {
    const plan = { fragments, merge: threeWay(byCustomer('orders'), byCustomer('payments'), ['o', 'p']) };
    const result = await executor().execute(plan);
    expect(result.errors).toEqual([]);
    expect(result.columns).toEqual(['id', 'name', 'o.id', 'customer_id', 'total', 'p.id', 'p.customer_id', 'amount']);
    expect(result.rows).toEqual([
      { id: 1, name: 'Ann', 'o.id': 10, customer_id: 1, total: 5, 'p.id': 20, 'p.customer_id': 1, amount: 7 },
      { id: 2, name: 'Bob', 'o.id': null, customer_id: null, total: null, 'p.id': 21, 'p.customer_id': 2, amount: 9 },
    ]);
    const streamed: unknown[] = [];
    for await (const batch of executor().run(plan).rows()) streamed.push(...batch);
    expect(streamed).toEqual(result.rows);
  });

  it('rightAs on one side is enough; on a fragment leaf it replaces the fragment id', async () => {
    const one = await executor().execute({ fragments, merge: threeWay(byCustomer('orders'), byCustomer('payments'), [undefined, 'p']) });
    expect(one.columns).toEqual(['id', 'name', 'right.id', 'customer_id', 'total', 'p.id', 'p.customer_id', 'amount']);
    const leaf = await executor().execute({ fragments, merge: { op: 'join', type: 'inner', left: 'customers', right: 'orders', on: [['id', 'customer_id']], rightAs: 'o' } });
    expect(leaf.columns).toEqual(['id', 'name', 'o.id', 'customer_id', 'total']);
  });

  it('is refused before anything runs when projects name the clashing columns, naming them and the fix', () => {
    const customers = { op: 'project', input: 'customers', columns: ['id', 'name'] };
    let error: unknown;
    try {
      executor().prepare({ fragments, merge: threeWay(projected('orders', 'total'), projected('payments', 'amount'), undefined, customers) });
    } catch (e) {
      error = e;
    }
    expect(isTributaryError(error, 'PLAN_INVALID')).toBe(true);
    const issues = (error as { issues: { path: string; message: string }[] }).issues;
    expect(issues.map((i) => i.path)).toEqual(['merge.right']);
    expect(issues[0]?.message).toContain('right column "id" would be renamed "right.id", which the left side already has');
    expect(issues[0]?.message).toContain('rightAs');
    // A rightAs that clashes too is reported at it.
    const again = (() => {
      try {
        executor().prepare({ fragments, merge: threeWay(projected('orders', 'total'), projected('payments', 'amount'), [undefined, 'right'], customers) });
      } catch (e) {
        return e as { issues: { path: string }[] };
      }
      return undefined;
    })();
    expect(again?.issues.map((i) => i.path)).toEqual(['merge.rightAs']);
  });

  it('fails the merge, naming the column and the fix, when only the rows show the clash (evaluated and streamed)', async () => {
    const plan = { fragments, merge: threeWay(byCustomer('orders'), byCustomer('payments')) };
    const result = await executor().execute(plan);
    expect(result.status).toBe('failed');
    expect(result.errors.map((e) => [e.code, e.issues[0]?.path])).toEqual([['MERGE_FAILED', 'merge']]);
    expect(result.errors[0]?.message).toContain('right column "id" would be renamed "right.id", which is already taken; name the right side with "rightAs"');
    const run = executor().run(plan);
    await expect((async () => {
      for await (const batch of run.rows()) void batch;
    })()).rejects.toMatchObject({ code: 'MERGE_FAILED' });
  });
});
