import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, isTributaryError, memorySource, type Executor, type Row } from '../../src/index.js';
import { bindCalls, distinctValues } from '../../src/execution/bind.js';
import { collectEvents, ofType, testSource } from '../support/engine.js';

describe('distinctValues', () => {
  it('returns the distinct non-null values of a column in first-seen order', () => {
    const rows = [{ id: 3 }, { id: 1 }, { id: null }, { id: 3 }, {}, { id: 'a' }, { id: 1 }];
    expect(distinctValues(rows, 'id')).toEqual([3, 1, 'a']);
  });

  it('treats 1 and 1n as the same key but keeps big integers apart', () => {
    expect(distinctValues([{ id: 1 }, { id: 1n }, { id: 2n ** 60n }, { id: 2n ** 60n }], 'id')).toEqual([1, 2n ** 60n]);
  });
});

describe('bindCalls', () => {
  const rowsOf = (id: string): Row[] => (id === 'up' ? [{ k: 1 }, { k: 2 }, { k: 2 }, { k: 3 }, { k: null }] : []);

  it('replaces a $from reference by the upstream column’s distinct values, leaving the plan untouched', () => {
    const fragment = { id: 'f', source: 's', dependsOn: ['up'], query: { key: 'f', params: ['x', { $from: 'up', column: 'k' }] } };
    const calls = bindCalls(fragment, { rowsOf, params: {} }, 'fragments[1]');
    expect(calls).toEqual([{ query: { key: 'f', params: ['x', [1, 2, 3]] }, params: ['x', [1, 2, 3]], values: [['x', [1, 2, 3]], [1, 2, 3]] }]);
    expect(fragment.query.params[1]).toEqual({ $from: 'up', column: 'k' });
  });

  it('splits a batched list into chunks of `size`, one call each, in order', () => {
    const fragment = { id: 'f', source: 's', dependsOn: ['up'], query: { key: 'f', params: [{ $from: 'up', column: 'k' }, 'tail'] }, batch: { param: 0, size: 2 } };
    expect(bindCalls(fragment, { rowsOf, params: {} }, 'fragments[1]').map((c) => c.params)).toEqual([
      [[1, 2], 'tail'],
      [[3], 'tail'],
    ]);
  });

  it('gives each call the values it is made with (params and bound values), for masking its errors', () => {
    const fragment = { id: 'f', source: 's', dependsOn: ['up'], query: { path: '/x/{p}', pathParams: { p: { $param: 'p' } }, searchParams: { k: { $from: 'up', column: 'k' } } }, batch: { param: 1, size: 2 } };
    expect(bindCalls(fragment, { rowsOf, params: { p: 'secret' } }, 'fragments[1]').map((c) => c.values)).toEqual([
      ['secret', [1, 2]],
      ['secret', [3]],
    ]);
    const sql = { id: 'f', source: 's', query: { key: 'f', params: ['lit', { $param: 'p' }] } };
    expect(bindCalls(sql, { rowsOf, params: { p: 'secret' } }, 'fragments[0]')[0]!.values).toEqual([['lit', 'secret'], 'secret']);
  });

  it('binds an empty upstream list as it is, in one call, batched or not (the query says what it means: NOT IN () keeps every row)', () => {
    const fragment = { id: 'f', source: 's', dependsOn: ['none'], query: { key: 'f', params: [{ $from: 'none', column: 'k' }, 'tail'] } };
    expect(bindCalls(fragment, { rowsOf, params: {} }, 'fragments[1]')).toMatchObject([{ query: { key: 'f', params: [[], 'tail'] }, params: [[], 'tail'] }]);
    expect(bindCalls({ ...fragment, batch: { param: 0, size: 2 } }, { rowsOf, params: {} }, 'fragments[1]')).toMatchObject([{ query: { key: 'f', params: [[], 'tail'] }, params: [[], 'tail'] }]);
  });

  it('resolves $param references from the run params, anywhere in the query', () => {
    const fragment = { id: 'f', source: 'm', query: { table: 't', where: { eq: ['region', { $param: 'region' }] } } };
    expect(bindCalls(fragment, { rowsOf, params: { region: 'EU' } }, 'fragments[0]')).toEqual([
      { query: { table: 't', where: { eq: ['region', 'EU'] } }, params: [], values: ['EU'] },
    ]);
  });

  it('throws PLAN_INVALID with the reference’s path for a missing run parameter', () => {
    const fragment = { id: 'f', source: 's', query: { key: 'f', params: [1, { $param: 'region' }] } };
    let caught: unknown;
    try {
      bindCalls(fragment, { rowsOf, params: {} }, 'fragments[2]');
    } catch (error) {
      caught = error;
    }
    expect(isTributaryError(caught, 'PLAN_INVALID')).toBe(true);
    expect((caught as { issues: unknown }).issues).toEqual([{ path: 'fragments[2].query.params[1].$param', message: expect.stringContaining('region') as string }]);
  });
});

describe('bind joins in a run', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  /** 2,500 distinct keys upstream (with duplicates and nulls mixed in). */
  const upstreamRows: Row[] = [
    ...Array.from({ length: 2500 }, (_, i) => ({ k: i + 1 })),
    ...Array.from({ length: 100 }, (_, i) => ({ k: i + 1 })),
    { k: null },
    { other: 1 },
  ];

  function setup() {
    const lookup = testSource({
      behaviour: (call) => (call.params[0] as number[]).map((k) => ({ k, square: k * k })),
    });
    executor = createExecutor({ sources: { up: memorySource({ tables: { keys: upstreamRows } }), lookup: lookup.source }, cache: false });
    return lookup;
  }

  const planWith = (batch?: { param: number; size: number }) => ({
    fragments: [
      { id: 'keys', source: 'up', query: { table: 'keys' } },
      { id: 'squares', source: 'lookup', dependsOn: ['keys'], query: { key: 'sq', params: [{ $from: 'keys', column: 'k' }] }, ...(batch ? { batch } : {}) },
    ],
  });

  /** `keys` → `sq`, whose params are the bound keys, then one `{ $param }` per name. */
  const withRunParams = (...names: string[]) => ({
    fragments: [
      { id: 'keys', source: 'up', query: { table: 'keys' } },
      { id: 'sq', source: 'lookup', dependsOn: ['keys'], query: { key: 'sq', params: [{ $from: 'keys', column: 'k' }, ...names.map(($param) => ({ $param }))] } },
    ],
  });

  it('binds the distinct non-null upstream values as one list parameter', async () => {
    const lookup = setup();
    const result = await executor!.execute(planWith());
    expect(lookup.calls).toHaveLength(1);
    const bound = lookup.calls[0]!.params[0] as number[];
    expect(bound).toHaveLength(2500);
    expect(bound).toEqual(Array.from({ length: 2500 }, (_, i) => i + 1));
    expect(result.rows).toHaveLength(2500);
  });

  it('splits 2,500 keys with batch size 1,000 into 3 calls whose rows are concatenated in order', async () => {
    const lookup = setup();
    const unbatched = await executor!.execute(planWith());
    const run = executor!.run(planWith({ param: 0, size: 1000 }));
    const events = collectEvents(run);
    const batched = await run.result;

    expect(lookup.calls).toHaveLength(1 + 3);
    expect(lookup.calls.slice(1).map((c) => (c.params[0] as number[]).length)).toEqual([1000, 1000, 500]);
    const started = ofType(events, 'fragment.started').filter((e) => e.fragmentId === 'squares');
    expect(started).toHaveLength(3);
    expect(started.map((e) => e.batch)).toEqual([
      { index: 0, count: 3 },
      { index: 1, count: 3 },
      { index: 2, count: 3 },
    ]);
    expect(batched.rows).toEqual(unbatched.rows);
    expect(batched.rows.map((r) => r.k)).toEqual(Array.from({ length: 2500 }, (_, i) => i + 1));
    expect(batched.fragments.squares).toMatchObject({ status: 'succeeded', rowCount: 2500, attempts: 1, calls: 3 });
  });

  it('keeps batch order when the batches finish out of order', async () => {
    const lookup = testSource();
    executor = createExecutor({ sources: { up: memorySource({ tables: { keys: upstreamRows.slice(0, 5) } }), lookup: lookup.source }, cache: false });
    const run = executor.run({
      fragments: [
        { id: 'keys', source: 'up', query: { table: 'keys' } },
        { id: 'sq', source: 'lookup', dependsOn: ['keys'], query: { key: 'sq', params: [{ $from: 'keys', column: 'k' }] }, batch: { param: 0, size: 2 } },
      ],
    });
    await lookup.waitForCalls(3);
    for (const i of [2, 0, 1]) {
      const call = lookup.calls[i]!;
      call.resolve((call.params[0] as number[]).map((k) => ({ k })));
    }
    expect((await run.result).rows.map((r) => r.k)).toEqual([1, 2, 3, 4, 5]);
  });

  it('runs the query once with the empty list when the upstream has no values (batched too)', async () => {
    const lookup = testSource({ behaviour: (call) => (call.params[0] as unknown[]).length === 0 ? [{ all: true }] : [] });
    executor = createExecutor({ sources: { up: memorySource({ tables: { keys: [{ k: null }] } }), lookup: lookup.source }, cache: false });
    const run = executor.run({
      fragments: [
        { id: 'keys', source: 'up', query: { table: 'keys' } },
        { id: 'sq', source: 'lookup', dependsOn: ['keys'], query: { key: 'sq', params: [{ $from: 'keys', column: 'k' }] }, batch: { param: 0, size: 10 } },
      ],
    });
    const events = collectEvents(run);
    const result = await run.result;
    expect(lookup.calls.map((c) => c.params)).toEqual([[[]]]);
    expect(result.status).toBe('ok');
    expect(result.rows).toEqual([{ all: true }]);
    expect(result.fragments.sq).toMatchObject({ status: 'succeeded', rowCount: 1, calls: 1 });
    expect(ofType(events, 'fragment.started').map((e) => e.fragmentId)).toEqual(['keys', 'sq']);
  });

  it('binds a memory predicate’s $from list and a $param from the run params', async () => {
    executor = createExecutor({
      sources: {
        m: memorySource({
          tables: {
            customers: [
              { id: 1, region: 'EU' },
              { id: 2, region: 'US' },
              { id: 3, region: 'EU' },
            ],
            orders: [
              { no: 'a', customer: 1 },
              { no: 'b', customer: 2 },
              { no: 'c', customer: 3 },
              { no: 'd', customer: 1 },
            ],
          },
        }),
      },
    });
    const result = await executor.execute(
      {
        fragments: [
          { id: 'c', source: 'm', query: { table: 'customers', where: { eq: ['region', { $param: 'region' }] } } },
          { id: 'o', source: 'm', dependsOn: ['c'], query: { table: 'orders', where: { in: ['customer', { $from: 'c', column: 'id' }] } } },
        ],
      },
      { params: { region: 'EU' } },
    );
    expect(result.rows.map((r) => r.no)).toEqual(['a', 'c', 'd']);
  });

  it('rejects a run whose plan needs a run parameter that is not given, with PLAN_INVALID and its path, before anything runs', async () => {
    const lookup = setup();
    const plan = withRunParams('limit');
    let caught: unknown;
    try {
      executor!.run(plan, { params: { other: 1 } });
    } catch (error) {
      caught = error;
    }
    expect(isTributaryError(caught, 'PLAN_INVALID')).toBe(true);
    expect((caught as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual(['fragments[1].query.params[1].$param']);
    await expect(executor!.execute(plan)).rejects.toMatchObject({ code: 'PLAN_INVALID' });
    expect(lookup.calls).toHaveLength(0);
    const ok = await executor!.execute(plan, { params: { limit: 7 } });
    expect(ok.status).toBe('ok');
    expect(lookup.calls[0]!.params[1]).toBe(7);
  });

  it('names every missing run parameter, in the queries and in the merge tree, on a prepared plan too, and runs it once they are given', async () => {
    const lookup = setup();
    const plan = {
      fragments: [
        { id: 'keys', source: 'up', query: { table: 'keys', where: { ge: ['k', { $param: 'from' }] } } },
        { id: 'sq', source: 'lookup', dependsOn: ['keys'], query: { key: 'sq', params: [{ $from: 'keys', column: 'k' }, { $param: 'limit' }] } },
      ],
      merge: { op: 'filter' as const, input: 'sq', where: { ge: ['v', { $param: 'min' }] } },
    };
    const prepared = executor!.prepare(plan);
    const pathsOf = (params: Record<string, unknown>): string[] => {
      try {
        executor!.run(prepared, { params });
      } catch (error) {
        expect(isTributaryError(error, 'PLAN_INVALID')).toBe(true);
        return (error as { issues: { path: string }[] }).issues.map((i) => i.path);
      }
      return [];
    };
    expect(pathsOf({})).toEqual(['fragments[0].query.where.ge[1].$param', 'fragments[1].query.params[1].$param', 'merge.where.ge[1].$param']);
    expect(pathsOf({ from: 0, min: 0 })).toEqual(['fragments[1].query.params[1].$param']);
    expect(lookup.calls).toHaveLength(0);
    // The same prepared plan, run twice with different values: each run binds its own.
    for (const limit of [3, 9]) {
      const result = await executor!.execute(prepared, { params: { from: 0, limit, min: -1 } });
      expect(result.status).toBe('ok');
      expect(lookup.calls.at(-1)!.params[1]).toBe(limit);
    }
  });

  it('binds the params a run started with, even when the caller reuses the object for the next run at once', async () => {
    const lookup = setup();
    const plan = withRunParams('user');
    const params: Record<string, unknown> = {};
    const runs = ['ann', 'bob', 'cy'].map((user) => {
      params.user = user;
      return executor!.run(plan, { params });
    });
    for (const run of runs) expect((await run.result).status).toBe('ok');
    // The second level binds after the first finished, long after the loop changed `params`.
    expect(lookup.calls.map((c) => c.params[1]).sort()).toEqual(['ann', 'bob', 'cy']);
  });

  it('rejects a run parameter no source can bind (a Set would bind as {}), once, at its path; a bigint, a Date and an array bind', async () => {
    const lookup = setup();
    const plan = withRunParams('ids', 'ids', 'at');
    let caught: unknown;
    try {
      executor!.run(plan, { params: { ids: new Set([1, 2]), at: new Date(0) } });
    } catch (error) {
      caught = error;
    }
    expect(isTributaryError(caught, 'PLAN_INVALID')).toBe(true);
    expect((caught as { issues: unknown[] }).issues).toEqual([{ path: 'params.ids', message: 'run parameter "ids": a Set is not JSON; use an array' }]);
    expect(lookup.calls).toHaveLength(0);
    for (const ids of [[1, 2], 9007199254740993n]) {
      const result = await executor!.execute(plan, { params: { ids, at: new Date(0) } });
      expect(result.status).toBe('ok');
      expect(lookup.calls.at(-1)!.params.slice(1)).toEqual([ids, ids, new Date(0)]);
    }
  });
});
