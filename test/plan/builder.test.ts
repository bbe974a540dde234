import { describe, expect, it } from 'vitest';
import { createExecutor, from, memorySource, param, plan, validatePlan } from '../../src/index.js';

const jsonPlan = {
  id: 'top-customers',
  fragments: [
    { id: 'customers', source: 'ref', query: { table: 'customers', where: { eq: ['segment', { $param: 'segment' }] } } },
    {
      id: 'orders',
      source: 'ref',
      query: { table: 'orders', where: { in: ['customer_id', { $from: 'customers', column: 'id' }] } },
      dependsOn: ['customers'],
      timeoutMs: 2000,
      retry: { attempts: 5 },
      cache: { ttlMs: 0 },
    },
  ],
  merge: {
    op: 'limit',
    n: 10,
    input: {
      op: 'sort',
      by: [{ column: 'total', desc: true }],
      input: { op: 'join', type: 'inner', left: 'customers', right: 'orders', on: [['id', 'customer_id']] },
    },
  },
  errorPolicy: 'partial',
  schedule: 'eager',
};

function built() {
  return plan('top-customers')
    .fragment('customers', 'ref', { table: 'customers', where: { eq: ['segment', param('segment')] } })
    .fragment(
      'orders',
      'ref',
      { table: 'orders', where: { in: ['customer_id', from('customers', 'id')] } },
      { dependsOn: ['customers'], timeoutMs: 2000, retry: { attempts: 5 }, cache: { ttlMs: 0 } },
    )
    .merge({
      op: 'limit',
      n: 10,
      input: {
        op: 'sort',
        by: [{ column: 'total', desc: true }],
        input: { op: 'join', type: 'inner', left: 'customers', right: 'orders', on: [['id', 'customer_id']] },
      },
    })
    .options({ errorPolicy: 'partial' })
    .options({ schedule: 'eager' })
    .build();
}

describe('plan() builder', () => {
  it('produces the same object as the equivalent JSON plan', () => {
    expect(built()).toEqual(jsonPlan);
    expect(JSON.parse(JSON.stringify(built()))).toEqual(jsonPlan);
  });

  it('from() and param() build the reference objects', () => {
    expect(from('a', 'id')).toEqual({ $from: 'a', column: 'id' });
    expect(param('p')).toEqual({ $param: 'p' });
  });

  it('returns a copy: later builder calls do not change a built plan', () => {
    const b = plan('p').fragment('a', 'ref', { table: 't' });
    const first = b.build();
    b.fragment('b', 'ref', { table: 't' });
    expect(first.fragments).toHaveLength(1);
    expect(b.build().fragments).toHaveLength(2);
  });

  it('omits id and merge when not given', () => {
    expect(plan().fragment('a', 'ref', { table: 't' }).build()).toEqual({ fragments: [{ id: 'a', source: 'ref', query: { table: 't' } }] });
  });

  it('builds a plan that validates and runs', async () => {
    const executor = createExecutor({
      sources: {
        ref: memorySource({
          tables: {
            customers: [
              { id: 1, name: 'Ann', segment: 'BUILDING' },
              { id: 2, name: 'Bob', segment: 'RETAIL' },
              { id: 3, name: 'Cy', segment: 'BUILDING' },
            ],
            orders: [
              { customer_id: 1, total: 10 },
              { customer_id: 2, total: 99 },
              { customer_id: 3, total: 30 },
              { customer_id: 1, total: 20 },
            ],
          },
        }),
      },
    });
    expect(validatePlan(built()).levels).toEqual([['customers'], ['orders']]);
    const result = await executor.execute(built(), { params: { segment: 'BUILDING' } });
    expect(result.status).toBe('ok');
    expect(result.rows.map((r) => [r.name, r.total])).toEqual([
      ['Cy', 30],
      ['Ann', 20],
      ['Ann', 10],
    ]);
    await executor.close();
  });
});

describe('optional fragments and deadlines in a plan', () => {
  it('builds optional fragments and the query deadline as the JSON plan writes them, and zod checks them', () => {
    const built = plan('p')
      .fragment('a', 'ref', { table: 't' })
      .optional('b', 'ref', { table: 't' }, { dependsOn: ['a'] })
      .options({ deadlineMs: 400, fragmentDeadlineMs: 300 })
      .build();
    expect(built).toEqual({
      id: 'p',
      fragments: [
        { id: 'a', source: 'ref', query: { table: 't' } },
        { id: 'b', source: 'ref', query: { table: 't' }, dependsOn: ['a'], optional: true },
      ],
      deadlineMs: 400,
      fragmentDeadlineMs: 300,
    });
    expect(validatePlan(built).fragments[1]!.optional).toBe(true);
    expect(() => validatePlan({ ...built, fragments: [{ ...built.fragments[0]!, optional: 'yes' }] })).toThrow(
      expect.objectContaining({ code: 'PLAN_INVALID', issues: [expect.objectContaining({ path: 'fragments[0].optional' })] }),
    );
  });
});
