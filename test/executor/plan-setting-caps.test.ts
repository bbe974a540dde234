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
