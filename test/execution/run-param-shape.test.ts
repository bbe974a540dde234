import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, type Executor } from '../../src/index.js';
import { runRefusal } from '../support/engine.js';

/**
 * Run parameters come from the caller, outside the plan, so the plan's JSON checks never saw
 * them: a value nested 100,000 deep overflowed the stack in the cache key (the run failed
 * with no error at all) or in the source ("Maximum call stack size exceeded"), and one that
 * held itself ran. They are checked as the plan is, before anything runs.
 */
const t = [{ a: 1 }, { a: 2 }, { a: 3 }];
const plan = { fragments: [{ id: 'f', source: 'm', query: { table: 't', where: { in: ['a', { $param: 'ids' }] } } }] };

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}


describe('run parameters are shaped like JSON before a run starts', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  it.each([{ cache: false as const }, {}])('refuses a parameter nested past maxNesting with PLAN_INVALID at its path (cache %j)', async (options) => {
    let calls = 0;
    const source = memorySource({ tables: { t } });
    const counted = { ...source, execute: (...args: Parameters<typeof source.execute>) => (calls++, source.execute(...args)) };
    executor = createExecutor({ sources: { m: counted }, ...options });
    const error = await runRefusal(executor, plan, { ids: nested(100_000) });
    expect(error.code).toBe('PLAN_INVALID');
    expect(error.issues).toEqual([{ path: `params.ids${'[0]'.repeat(128)}`, message: 'run parameter "ids": the value nests deeper than 128 levels' }]);
    expect(calls).toBe(0);
  });

  it('follows the executor limits: maxNesting', async () => {
    executor = createExecutor({ sources: { m: memorySource({ tables: { t } }) }, limits: { maxNesting: 10 } });
    expect((await executor.execute(plan, { params: { ids: nested(10) } })).status).toBe('ok');
    expect((await runRefusal(executor, plan, { ids: nested(11) })).issues).toEqual([{ path: `params.ids${'[0]'.repeat(10)}`, message: 'run parameter "ids": the value nests deeper than 10 levels' }]);
  });

  it('refuses a parameter that holds itself, and a Map or function inside a list, at their paths', async () => {
    executor = createExecutor({ sources: { m: memorySource({ tables: { t } }) } });
    const cyclic: unknown[] = [1];
    cyclic.push([cyclic]);
    expect((await runRefusal(executor, plan, { ids: cyclic })).issues).toEqual([{ path: 'params.ids[1][0]', message: 'run parameter "ids": the value contains a reference cycle and is not JSON' }]);
    expect((await runRefusal(executor, plan, { ids: [1, new Map()] })).issues).toEqual([{ path: 'params.ids[1]', message: expect.stringContaining('a Map is not JSON') }]);
    expect((await runRefusal(executor, plan, { ids: [1, () => 2] })).issues).toEqual([{ path: 'params.ids[1]', message: expect.stringContaining('a function is not JSON') }]);
    expect((await runRefusal(executor, plan, { ids: new Set([1]) })).issues).toEqual([{ path: 'params.ids', message: expect.stringContaining('a Set is not JSON') }]);
  });

  it('runs lists of ids, bigints, Dates and shared (not cyclic) values as before', async () => {
    executor = createExecutor({ sources: { m: memorySource({ tables: { t } }) } });
    const ids = Array.from({ length: 100_000 }, (_, i) => i);
    expect((await executor.execute(plan, { params: { ids } })).rows).toEqual(t);
    expect((await executor.execute(plan, { params: { ids: [1n, 2n] } })).rows).toEqual([{ a: 1 }, { a: 2 }]);
    const shared = { x: 1 };
    expect((await executor.execute(plan, { params: { ids: [3, new Date(0), [shared, shared]] } })).status).toBe('ok');
  });
});
