import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, defaultPlanLimits, explain, memorySource, type Executor, type ExecutorOptions, type Plan } from '../../src/index.js';

/**
 * What the executor's `limits` hold a plan to is the setting in force — the plan's and its
 * fragments' layered over the executor's own — and what a plan could get around them with:
 * a backoff grown by `factor` to a longer `maxDelayMs` than the plan may ask for, and a
 * `hedge: { idempotent: true }` that gets calls hedged which the source cannot tell are reads.
 */
const t = [{ id: 1 }, { id: 2 }];
const fragment = { id: 'f', source: 'mem', query: { table: 't' } };

describe("a plan's settings in force under the executor's limits", () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });
  const make = (options: Omit<ExecutorOptions, 'sources'>): Executor => (executor = createExecutor({ sources: { mem: memorySource({ tables: { t } }) }, cache: false, ...options }));
  /** The issues `prepare` and `run` refuse `plan` with (they must agree), or [] when both take it. */
  const refusal = (plan: Plan): { path: string; message: string }[] => {
    const issuesOf = (act: () => unknown): { path: string; message: string }[] => {
      try {
        act();
        return [];
      } catch (error) {
        expect(error).toMatchObject({ name: 'TributaryError', code: 'PLAN_INVALID' });
        return (error as { issues: { path: string; message: string }[] }).issues;
      }
    };
    const prepared = issuesOf(() => executor!.prepare(plan));
    const run = issuesOf(() => {
      const started = executor!.run(plan);
      started.cancel();
      started.result.catch(() => undefined);
    });
    expect(run).toEqual(prepared);
    return prepared;
  };

  it("checks a hedge without a ratio at the executor's ratio it runs at, not at the default", async () => {
    make({ hedge: { afterMs: 50, maxExtraRatio: 0.05 }, limits: { maxHedgeRatio: 0.05 } });
    const fragmentHedge: Plan = { fragments: [{ ...fragment, hedge: { afterMs: 5 } }] };
    expect(refusal(fragmentHedge)).toEqual([]);
    expect((await executor!.execute(fragmentHedge)).rows).toEqual(t);
    expect(refusal({ hedge: { quantile: 0.5 }, fragments: [{ ...fragment, hedge: { afterMs: 5 } }] })).toEqual([]);
    // A `false` between them turns the executor's hedge off: the fragment's then asks for the default.
    expect(refusal({ hedge: false, fragments: [{ ...fragment, hedge: { afterMs: 5 } }] })).toEqual([
      { path: 'fragments[0].hedge.maxExtraRatio', message: '0.1 (the default of a hedge that sets none) is more than the executor allows a plan (limits.maxHedgeRatio: 0.05)' },
    ]);
    expect(refusal({ fragments: [{ ...fragment, hedge: { maxExtraRatio: 0.06 } }] }).map((i) => i.path)).toEqual(['fragments[0].hedge.maxExtraRatio']);
  });

  it('explain() checks the caps against the settings in force when given the executor’s retry and hedge', () => {
    const limits = { ...defaultPlanLimits, maxHedgeRatio: 0.05, maxRetryDelayMs: 500 };
    const plan: Plan = { fragments: [{ ...fragment, hedge: { afterMs: 5 }, retry: { attempts: 2 } }] };
    const refused = (act: () => unknown): string[] => {
      try {
        act();
        return [];
      } catch (error) {
        return (error as { issues: { path: string }[] }).issues.map((i) => i.path);
      }
    };
    // As run() does under an executor with a hedge at 0.05 and short retries, explain takes it…
    expect(refused(() => explain(plan, { limits, hedge: { afterMs: 50, maxExtraRatio: 0.05 }, retry: { maxDelayMs: 400 } }))).toEqual([]);
    // …and without them checks the plan as if the executor had neither.
    expect(refused(() => explain(plan, { limits }))).toEqual(['fragments[0].hedge.maxExtraRatio']);
  });

  it("leaves an executor's hedge that runs at the default ratio its own, and refuses a plan turning hedging on at it", async () => {
    make({ hedge: { afterMs: 50 }, limits: { maxHedgeRatio: 0.05 } });
    expect(refusal({ hedge: { afterMs: 5 }, fragments: [fragment] })).toEqual([]);
    await executor!.close();
    make({ limits: { maxHedgeRatio: 0.05 } });
    expect(refusal({ hedge: { afterMs: 5 }, fragments: [fragment] }).map((i) => i.path)).toEqual(['hedge.maxExtraRatio']);
  });

  it('refuses a factor, initial delay or attempts that grow the backoff past maxRetryDelayMs under a longer maxDelayMs', async () => {
    // The default retry: 3 attempts, 50 ms, factor 2, up to 2000 ms; a plan may ask for 500 ms at most.
    make({ limits: { maxRetryDelayMs: 500 } });
    expect(refusal({ retry: { factor: 100 }, fragments: [fragment] })).toEqual([
      {
        path: 'retry.factor',
        message: '100 makes a backoff of 2000 ms (initialDelayMs 50, factor 100, 3 attempts, maxDelayMs 2000), more than the executor allows a plan (limits.maxRetryDelayMs: 500); a retry.maxDelayMs within it bounds it',
      },
    ]);
    expect(refusal({ retry: { maxDelayMs: 2000 }, fragments: [fragment] }).map((i) => i.path)).toEqual(['retry.maxDelayMs']);
    expect(refusal({ fragments: [{ ...fragment, retry: { initialDelayMs: 500 } }] }).map((i) => i.path)).toEqual(['fragments[0].retry.initialDelayMs']);
    expect(refusal({ fragments: [{ ...fragment, retry: { attempts: 10 } }] }).map((i) => i.path)).toEqual(['fragments[0].retry.attempts']);
    // Within the limit: its own maxDelayMs bounds the growth, or it never grows that far.
    expect(refusal({ retry: { factor: 100, maxDelayMs: 500 }, fragments: [fragment] })).toEqual([]);
    expect(refusal({ retry: { factor: 3, attempts: 4 }, fragments: [fragment] })).toEqual([]);
    expect((await executor!.execute({ retry: { factor: 100, maxDelayMs: 500, attempts: 5 }, fragments: [fragment] })).rows).toEqual(t);
  });

  it("lets a plan's backoff grow as long as the executor's own already does", async () => {
    make({ retry: { attempts: 10 }, limits: { maxRetryDelayMs: 500 } });
    expect(refusal({ retry: { factor: 3 }, fragments: [fragment] })).toEqual([]);
    expect(refusal({ retry: { initialDelayMs: 500, attempts: 10 }, fragments: [fragment] })).toEqual([]);
  });

  it('refuses hedge.idempotent in a plan or fragment under allowIdempotentHedge: false, and leaves the executor its own', async () => {
    make({ hedge: { afterMs: 50, idempotent: true }, limits: { allowIdempotentHedge: false } });
    expect(refusal({ hedge: { afterMs: 5, idempotent: true }, fragments: [fragment, { ...fragment, id: 'g', hedge: { idempotent: true } }], merge: { op: 'union', inputs: ['f', 'g'] } })).toEqual([
      { path: 'hedge.idempotent', message: 'a plan may not declare its calls safe to run twice (limits.allowIdempotentHedge: false)' },
      { path: 'fragments[1].hedge.idempotent', message: 'a plan may not declare its calls safe to run twice (limits.allowIdempotentHedge: false)' },
    ]);
    const allowed: Plan = { hedge: { afterMs: 5, idempotent: false }, fragments: [{ ...fragment, hedge: { afterMs: 5 } }] };
    expect(refusal(allowed)).toEqual([]);
    expect((await executor!.execute(allowed)).rows).toEqual(t);
    await executor!.close();
    make({ limits: { allowIdempotentHedge: true } });
    expect(refusal({ hedge: { idempotent: true }, fragments: [fragment] })).toEqual([]);
  });
});
