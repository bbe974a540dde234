import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, type Executor } from '../../src/index.js';
import { createTally, reportTally } from '../support/fuzz-report.js';
import { planRecipeArb } from './arbitraries.js';
import { buildCase } from './build.js';
import { count, judge, pollution, runEngine, runs, settle, show, type Verdict } from './harness.js';
import { mutate, mutationArb } from './mutations.js';
import { referenceRun } from './reference.js';
import { Mirror, RUN_PARAMS, engineSources, refWorld, tablesArb, type Tables } from './world.js';

/**
 * Valid plans mutated into invalid ones (cycles, unknown ids, duplicate ids, bad numbers,
 * unknown and `__proto__` keys, wrong types anywhere, prototype-named columns). Each must be
 * rejected with a well-formed TributaryError, or run and equal the reference; never another
 * exception, never a hang, never a polluted prototype.
 */

const tally = createTally('fuzz-mutated-plans');
// Most mutated plans are rejected before they run: a few datasets are enough, and cheap.
const datasets = fc.sample(tablesArb, 8);
const empty: Tables = { t0: [], t1: [], t2: [] };
let mirror: Mirror;
let validator: Executor;

beforeAll(() => {
  mirror = new Mirror();
  // Validation only: the same source names and schemas as the executors that run the plans.
  validator = createExecutor({ sources: engineSources(empty, mirror) });
});

afterAll(async () => {
  await validator.close();
  mirror.close();
  reportTally(tally);
});

async function runMutated(plan: unknown, tables: Tables, mustReject: boolean): Promise<Verdict> {
  let rejection: unknown;
  try {
    validator.validate(plan);
  } catch (error) {
    rejection = error;
  }
  // Validation is synchronous: a runaway one cannot be cut short; the test's timeout reports it.
  if (rejection !== undefined) return judge({ kind: 'invalid', why: 'rejected by validation' }, { kind: 'rejected', error: rejection, sync: true }, true);
  if (mustReject) return { kind: 'mismatch', detail: 'the engine accepted a plan that must be rejected' };

  mirror.load(tables);
  const expected = referenceRun(plan, refWorld(tables, mirror));
  const executor = createExecutor({ sources: engineSources(tables, mirror) });
  try {
    return judge(expected, await runEngine(executor, plan, RUN_PARAMS), true);
  } finally {
    await settle(executor.close(), 5_000);
  }
}

describe('fuzzed invalid plans', () => {
  it('are rejected with a TributaryError, or run and equal the reference', async () => {
    await fc.assert(
      fc.asyncProperty(planRecipeArb({ maxFragments: 4, mergeDepth: 2, tables: fc.constantFrom(...datasets) }), mutationArb, async (recipe, mutation) => {
        const c = buildCase(recipe);
        const { plan, mustReject } = mutate(c.plan, mutation);
        const verdict = await runMutated(plan, c.tables, mustReject);
        count(tally, verdict);
        const polluted = pollution();
        if (verdict.kind !== 'ok' || polluted) {
          const detail = verdict.kind === 'ok' ? `prototype polluted: ${polluted}` : `${verdict.kind}: ${verdict.detail}`;
          throw new Error(`${detail}\n  mutation: ${show(mutation)}\n  plan: ${show(plan)}\n  tables: ${show(c.tables)}`);
        }
      }),
      { numRuns: runs(8_500) },
    );
    expect(tally.tried).toBeGreaterThanOrEqual(runs(8_500));
    expect(pollution()).toBeUndefined();
  }, 600_000);
});
