import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, type Executor, type Plan } from '../../src/index.js';

/**
 * A plan may come from a less-trusted caller than its executor. Its size is held to the
 * executor's `limits`; so are the timeouts, deadlines and retry attempts it asks for, its
 * own and its fragments': one past `limits.maxTimeoutMs`, `maxDeadlineMs` or `maxAttempts`
 * fails PLAN_INVALID at its path before anything runs, a prepared plan included.
 */
const t = [{ id: 1 }, { id: 2 }];
const fragment = { id: 'f', source: 'mem', query: { table: 't' } };
const limits = { maxTimeoutMs: 5000, maxDeadlineMs: 60_000, maxAttempts: 3 };

describe("a plan's timeouts, deadlines and retries under the executor's limits", () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  it('refuses each setting past its limit, at its path, listing them all', async () => {
    let calls = 0;
    const mem = memorySource({ tables: { t } });
    executor = createExecutor({ sources: { mem: { ...mem, execute: (q, ctx) => (calls++, mem.execute(q, ctx)) } }, cache: false, limits });
    const plan: Plan = {
      timeoutMs: 5001,
      deadlineMs: 60_001,
      fragmentDeadlineMs: 2 ** 31 - 1,
      retry: { attempts: 4 },
      fragments: [fragment, { ...fragment, id: 'g', timeoutMs: 3_600_000, deadlineMs: 86_400_000, retry: { attempts: 100 } }],
      merge: { op: 'union', inputs: ['f', 'g'] },
    };
    let thrown: unknown;
    try {
      executor.run(plan);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ name: 'TributaryError', code: 'PLAN_INVALID' });
    expect((thrown as { issues: { path: string }[] }).issues.map((i) => i.path).sort()).toEqual(
      ['deadlineMs', 'fragmentDeadlineMs', 'fragments[1].deadlineMs', 'fragments[1].retry.attempts', 'fragments[1].timeoutMs', 'retry.attempts', 'timeoutMs'].sort(),
    );
    expect((thrown as Error).message).toContain('timeoutMs: 5001 is more than the executor allows a plan (limits.maxTimeoutMs: 5000)');
    expect(() => executor!.prepare({ fragments: [{ ...fragment, timeoutMs: 5001 }] })).toThrow(expect.objectContaining({ code: 'PLAN_INVALID', issues: [expect.objectContaining({ path: 'fragments[0].timeoutMs' })] }));
    expect(calls).toBe(0);
  });

  it('runs a plan that asks for no more than the limits, and leaves the executor and the run their own settings', async () => {
    executor = createExecutor({ sources: { mem: memorySource({ tables: { t } }) }, cache: false, limits, timeoutMs: 30_000, deadlineMs: 120_000, retry: { attempts: 5 } });
    const plan: Plan = { timeoutMs: 5000, deadlineMs: 60_000, fragmentDeadlineMs: 60_000, retry: { attempts: 3 }, fragments: [{ ...fragment, timeoutMs: 1, deadlineMs: 60_000, retry: { attempts: 1 } }] };
    expect((await executor.execute(plan)).rows).toEqual(t);
    expect((await executor.execute({ fragments: [fragment] })).rows).toEqual(t);
    // The run's own deadline is the application's, not the plan's.
    expect((await executor.execute({ fragments: [fragment] }, { deadlineMs: 600_000 })).rows).toEqual(t);
  });

  it('leaves a plan its settings when the executor sets no such limit', async () => {
    executor = createExecutor({ sources: { mem: memorySource({ tables: { t } }) }, cache: false });
    expect((await executor.execute({ timeoutMs: 2 ** 31 - 1, retry: { attempts: 100 }, fragments: [fragment] })).rows).toEqual(t);
  });

  it('refuses a limit that is not a positive integer (CONFIG_INVALID at its path)', () => {
    expect(() => createExecutor({ limits: { maxTimeoutMs: 0 } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', issues: [expect.objectContaining({ path: 'limits.maxTimeoutMs' })] }));
  });
});

/**
 * The same for what a plan asks of the executor's other resources: how long its retries back
 * off (`limits.maxRetryDelayMs`), how long its rows stay cached (`maxCacheTtlMs`) and how many
 * extra hedged calls it may add (`maxHedgeRatio`).
 */
describe("a plan's retry delays, cache lifetimes and hedging under the executor's limits", () => {
  const caps = { maxRetryDelayMs: 1000, maxCacheTtlMs: 60_000, maxHedgeRatio: 0.05 };
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  const refusal = (plan: Plan): { code?: string; issues: { path: string; message: string }[] } => {
    try {
      executor!.run(plan);
    } catch (error) {
      return error as { code?: string; issues: { path: string; message: string }[] };
    }
    throw new Error('the plan ran');
  };

  it('refuses each setting past its limit, at its path, listing them all, a prepared plan too', () => {
    let calls = 0;
    const mem = memorySource({ tables: { t } });
    executor = createExecutor({ sources: { mem: { ...mem, execute: (q, ctx) => (calls++, mem.execute(q, ctx)) } }, limits: caps });
    const plan: Plan = {
      retry: { initialDelayMs: 1001, maxDelayMs: 3_600_000 },
      cache: { ttlMs: 60_001 },
      hedge: { afterMs: 10, maxExtraRatio: 1 },
      fragments: [fragment, { ...fragment, id: 'g', retry: { maxDelayMs: 1000.5 }, cache: { ttlMs: 86_400_000, tags: ['x'] }, hedge: { maxExtraRatio: 0.06 } }],
      merge: { op: 'union', inputs: ['f', 'g'] },
    };
    const thrown = refusal(plan);
    expect(thrown).toMatchObject({ name: 'TributaryError', code: 'PLAN_INVALID' });
    expect(thrown.issues.map((i) => i.path).sort()).toEqual(
      ['cache.ttlMs', 'fragments[1].cache.ttlMs', 'fragments[1].hedge.maxExtraRatio', 'fragments[1].retry.maxDelayMs', 'hedge.maxExtraRatio', 'retry.initialDelayMs', 'retry.maxDelayMs'].sort(),
    );
    expect(thrown.issues).toContainEqual({ path: 'retry.initialDelayMs', message: '1001 is more than the executor allows a plan (limits.maxRetryDelayMs: 1000)' });
    expect(thrown.issues).toContainEqual({ path: 'hedge.maxExtraRatio', message: '1 is more than the executor allows a plan (limits.maxHedgeRatio: 0.05)' });
    expect(() => executor!.prepare({ fragments: [{ ...fragment, cache: { ttlMs: 60_001 } }] })).toThrow(
      expect.objectContaining({ code: 'PLAN_INVALID', issues: [expect.objectContaining({ path: 'fragments[0].cache.ttlMs' })] }),
    );
    expect(calls).toBe(0);
  });

  it('counts a hedge that sets no maxExtraRatio as asking for the default 0.1, or a fragment\'s for its plan\'s', async () => {
    executor = createExecutor({ sources: { mem: memorySource({ tables: { t } }) }, limits: caps });
    expect(refusal({ fragments: [{ ...fragment, hedge: { afterMs: 5 } }] }).issues).toEqual([
      { path: 'fragments[0].hedge.maxExtraRatio', message: '0.1 (the default of a hedge that sets none) is more than the executor allows a plan (limits.maxHedgeRatio: 0.05)' },
    ]);
    // A fragment's hedge takes the plan's ratio when the plan's hedge sets one, and asks for no more.
    expect((await executor.execute({ hedge: { maxExtraRatio: 0.05 }, fragments: [{ ...fragment, hedge: { afterMs: 5 } }] })).rows).toEqual(t);
    expect(refusal({ hedge: false, fragments: [{ ...fragment, hedge: { afterMs: 5 } }] }).issues.map((i) => i.path)).toEqual(['fragments[0].hedge.maxExtraRatio']);
    // maxHedgeRatio: 0 keeps a plan from hedging at all, but not from turning it off.
    await executor.close();
    executor = createExecutor({ sources: { mem: memorySource({ tables: { t } }) }, limits: { maxHedgeRatio: 0 } });
    expect(refusal({ hedge: { maxExtraRatio: 0.01 }, fragments: [fragment] }).issues.map((i) => i.path)).toEqual(['hedge.maxExtraRatio']);
  });

  it('runs a plan that asks for no more than the limits, and leaves the executor its own settings', async () => {
    executor = createExecutor({
      sources: { mem: memorySource({ tables: { t } }) },
      limits: { ...caps, maxHedgeRatio: 0 },
      retry: { initialDelayMs: 5000, maxDelayMs: 60_000 },
      cache: { ttlMs: 3_600_000 },
      hedge: { afterMs: 10, maxExtraRatio: 1 },
    });
    const plan: Plan = {
      retry: { initialDelayMs: 1000, maxDelayMs: 1000, factor: 100 },
      cache: { ttlMs: 60_000 },
      hedge: { maxExtraRatio: 0 },
      fragments: [{ ...fragment, cache: false, hedge: false, retry: { initialDelayMs: 0 } }, { ...fragment, id: 'g', cache: { ttlMs: 0 } }],
      merge: { op: 'union', inputs: ['f', 'g'] },
    };
    expect((await executor.execute(plan)).rows).toEqual([...t, ...t]);
    expect((await executor.execute({ fragments: [fragment] })).rows).toEqual(t);
  });

  it('leaves a plan its settings when the executor sets no such limit', async () => {
    executor = createExecutor({ sources: { mem: memorySource({ tables: { t } }) } });
    const plan: Plan = { retry: { initialDelayMs: 3_600_000, maxDelayMs: 3_600_000 }, cache: { ttlMs: 2 ** 40 }, hedge: { afterMs: 1, maxExtraRatio: 1 }, fragments: [fragment] };
    expect((await executor.execute(plan)).rows).toEqual(t);
  });

  it('refuses a limit out of its range (CONFIG_INVALID at its path)', () => {
    expect(() => createExecutor({ limits: { maxHedgeRatio: 1, maxRetryDelayMs: 0, maxCacheTtlMs: 0 } }).close()).not.toThrow();
    expect(() => createExecutor({ limits: { maxHedgeRatio: 1.5 } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', issues: [expect.objectContaining({ path: 'limits.maxHedgeRatio' })] }));
    expect(() => createExecutor({ limits: { maxRetryDelayMs: -1 } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', issues: [expect.objectContaining({ path: 'limits.maxRetryDelayMs' })] }));
    expect(() => createExecutor({ limits: { maxCacheTtlMs: 0.5 } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', issues: [expect.objectContaining({ path: 'limits.maxCacheTtlMs' })] }));
  });
});
