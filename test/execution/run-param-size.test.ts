import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, type Executor } from '../../src/index.js';
import { runRefusal } from '../support/engine.js';
import { jsonSize } from '../../src/plan/json-size.js';

/**
 * The params a plan uses are bounded together, as the plan is (`maxPlanBytes`, 1 MiB by
 * default, as JSON): their shape checks (nesting, arrays and objects) let one huge string
 * through, which then went into the cache key, the statement's parameters and the errors.
 */
const t = [{ a: 'x' }, { a: 'y' }];
const plan = {
  fragments: [{ id: 'f', source: 'm', query: { table: 't', where: { and: [{ in: ['a', { $param: 'names' }] }, { ne: ['a', { $param: 'other' }] }] } } }],
};


describe('run parameters are bounded in size together', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  it('refuses one huge string with PLAN_INVALID at its param, before any call', async () => {
    let calls = 0;
    const source = memorySource({ tables: { t } });
    const counted = { ...source, execute: (...args: Parameters<typeof source.execute>) => (calls++, source.execute(...args)) };
    executor = createExecutor({ sources: { m: counted }, cache: false });
    const error = await runRefusal(executor, plan, { names: ['x'], other: 'z'.repeat(50 * 2 ** 20) });
    expect(error.code).toBe('PLAN_INVALID');
    expect(error.issues).toEqual([{ path: 'params.other', message: 'run parameter "other": the run\'s params are larger than 1048576 bytes as JSON (maxPlanBytes)' }]);
    expect(calls).toBe(0);
  });

  it('counts the params together: two that fit alone pass the bound together, at the one that passes it', async () => {
    executor = createExecutor({ sources: { m: memorySource({ tables: { t } }) } });
    const half = 'q'.repeat(600_000);
    expect((await executor.execute(plan, { params: { names: ['x', half], other: 'z' } })).rows).toEqual([{ a: 'x' }]);
    expect((await runRefusal(executor, plan, { names: ['x', half], other: half })).issues.map((i) => i.path)).toEqual(['params.other']);
    // UTF-8 bytes, not UTF-16 units: 400,000 three-byte characters are 1.2 MB.
    expect((await runRefusal(executor, plan, { names: ['x'], other: '€'.repeat(400_000) })).issues.map((i) => i.path)).toEqual(['params.other']);
  });

  it('admits a list of 100,000 ids (about 600 KB as JSON), and follows maxPlanBytes', async () => {
    executor = createExecutor({ sources: { m: memorySource({ tables: { t } }) } });
    const ids = Array.from({ length: 100_000 }, (_, i) => `${i}`);
    expect((await executor.execute(plan, { params: { names: ['x', ...ids], other: 'z' } })).status).toBe('ok');
    await executor.close();
    executor = createExecutor({ sources: { m: memorySource({ tables: { t } }) }, limits: { maxPlanBytes: 300 } });
    expect((await executor.execute(plan, { params: { names: ['x'], other: 'z'.repeat(250) } })).status).toBe('ok');
    expect((await runRefusal(executor, plan, { names: ['x'], other: 'z'.repeat(300) })).issues.map((i) => i.path)).toEqual(['params.other']);
  });

  it('measures as JSON text does', () => {
    for (const value of [[1, -22, 3.5, 'ab', null, true, false], { a: [1, { 'b€': 'c€' }], d: 'x' }, [], {}, 123456789012, [[[]]]]) {
      expect(jsonSize(value, Infinity)).toBe(Buffer.byteLength(JSON.stringify(value)));
    }
    expect(jsonSize(2n ** 200n, Infinity)).toBeGreaterThanOrEqual((2n ** 200n).toString().length);
    expect(jsonSize(Buffer.alloc(5000), Infinity)).toBe(5000);
  });
});
