import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor } from '../../src/index.js';
import { createTally, reportTally } from '../support/fuzz-report.js';
import { planRecipeArb } from './arbitraries.js';
import { buildCase } from './build.js';
import { count, judge, pollution, runEngine, runs, settle, show } from './harness.js';
import { referenceRun } from './reference.js';
import { Mirror, RUN_PARAMS, engineSources, refWorld } from './world.js';

/**
 * Generated valid plans (1–8 fragments over memory and SQLite, `$from` bind joins with
 * batching, random policies and merge trees) must give exactly what the reference
 * evaluator gives over the same rows. A failure prints the shrunk plan and its data.
 */

const tally = createTally('fuzz-valid-plans');
let mirror: Mirror;

beforeAll(() => {
  mirror = new Mirror();
});

afterAll(() => {
  mirror.close();
  reportTally(tally);
});

describe('fuzzed valid plans', () => {
  it('run and equal the reference evaluation of the same plan', async () => {
    await fc.assert(
      fc.asyncProperty(planRecipeArb(), async (recipe) => {
        const c = buildCase(recipe);
        mirror.load(c.tables);
        const expected = referenceRun(c.plan, refWorld(c.tables, mirror));
        const executor = createExecutor({ ...c.executorOptions, sources: engineSources(c.tables, mirror, c.memMax, c.sqlMax) });
        let outcome;
        try {
          outcome = await runEngine(executor, c.plan, RUN_PARAMS);
        } finally {
          if ((await settle(executor.close(), 5_000)) === 'hung') outcome = { kind: 'hung' as const };
        }
        const verdict = judge(expected, outcome, false);
        count(tally, verdict);
        const polluted = pollution();
        if (verdict.kind !== 'ok' || polluted) {
          const detail = verdict.kind === 'ok' ? `prototype polluted: ${polluted}` : `${verdict.kind}: ${verdict.detail}`;
          throw new Error(`${detail}\n  plan: ${show(c.plan)}\n  tables: ${show(c.tables)}\n  executor: ${show(c.executorOptions)}`);
        }
      }),
      { numRuns: runs(2_000) },
    );
    expect(tally.tried).toBeGreaterThanOrEqual(runs(2_000));
  }, 600_000);
});
