import { createExecutor, mysqlSource, postgresSource, sqliteSource, TributaryError, type Executor, type QueryResult } from '../../../src/index.js';
import { mysqlUrl, pgUrl } from '../../support/servers.js';
import { show } from '../harness.js';
import { differ } from './compare.js';
import type { PlanRecipe } from './recipe.js';
import { Stores } from './stores.js';
import type { Translated } from './merge-sql.js';
import { translate, type PhysicalNames } from './translate.js';

/**
 * One fuzz case against the PostgreSQL oracle: load the world everywhere, translate the
 * recipe, ask PostgreSQL, then run the plan three ways — `levels`, `eager` (from the cache
 * the first run filled), and streamed through `run.rows()` — and judge each against the
 * oracle's rows.
 */

export type Mode = 'levels' | 'eager' | 'streamed';
export const MODES: Mode[] = ['levels', 'eager', 'streamed'];

export class OracleBench {
  private constructor(readonly stores: Stores, readonly executor: Executor) {}

  static async open(): Promise<OracleBench> {
    const stores = await Stores.open();
    const executor = createExecutor({
      sources: { pg: postgresSource({ url: pgUrl() }), my: mysqlSource({ url: mysqlUrl() }), lite: sqliteSource({ file: stores.liteFile, readonly: true }) },
      // The cache is on and emptied per case: the eager run reads what the levels run stored.
      retry: { attempts: 1 },
    });
    return new OracleBench(stores, executor);
  }

  get names(): PhysicalNames {
    const lite = { ta: 'ta', tb: 'tb', tc: 'tc' };
    return { pg: this.stores.pgName, my: this.stores.myName, lite, mem: lite };
  }

  async close(): Promise<void> {
    await this.executor.close();
    await this.stores.close();
  }

  /** Runs one recipe; throws with the plan, data and difference when tributary disagrees. */
  async check(recipe: PlanRecipe, modes: Mode[] = MODES): Promise<void> {
    await this.stores.load(recipe.world);
    await this.executor.cache.invalidate({});
    this.executor.unregister('mem');
    this.executor.register('mem', Stores.memory(recipe.world));
    const t = translate(recipe, this.names);
    const oracle = t.fails ? [] : ((await this.stores.oracle.query({ text: t.sql, rowMode: 'array' })).rows as (string | null)[][]);
    for (const mode of modes) {
      const problem = await judgeRun(this.executor, t, oracle, mode);
      if (problem !== undefined) {
        throw new Error(`${mode}: ${problem}\n  plan: ${show(t.plan)}\n  placement: ${show(recipe.world.placement)}\n  rows: ${show(recipe.world.rows)}\n  oracle: ${t.sql}`);
      }
    }
  }
}

/**
 * Runs the translated plan once in `mode` and judges it against the oracle's rows (text cells
 * in `t.cols` order); a description of the difference, or undefined. The MariaDB oracle
 * (test/fuzz/my-oracle) judges with it too.
 */
export async function judgeRun(executor: Executor, t: Translated, oracle: (string | null)[][], mode: Mode): Promise<string | undefined> {
  const plan = { ...t.plan, schedule: mode === 'eager' ? 'eager' : 'levels' };
  let result: QueryResult;
  let streamed: Record<string, unknown>[] | undefined;
  try {
    const run = executor.run(plan);
    if (mode === 'streamed') {
      streamed = [];
      for await (const batch of run.rows()) streamed.push(...batch);
    }
    result = await run.result;
  } catch (error) {
    if (t.fails && error instanceof TributaryError && (error.code === 'PLAN_INVALID' || error.code === t.fails)) return undefined;
    return `threw ${error instanceof TributaryError ? `${error.code}: ${error.message} ${show(error.issues)}` : String(error)}`;
  }
  // A fragment that ran no query named no columns: a clash on one of them cannot be seen.
  const unnamed = Object.values(result.fragments).some((f) => f.status === 'succeeded' && f.attempts === 0 && !f.cached);
  if (t.fails) {
    if (unnamed && result.status === 'ok') return undefined;
    return result.status === 'failed' && result.errors.some((e) => e.code === t.fails) ? undefined : `expected ${t.fails}, got ${result.status} (${result.errors.map((e) => e.code).join(', ')})`;
  }
  if (result.status !== 'ok') return `status ${result.status}: ${result.errors.map((e) => `${e.code}: ${e.message}`).join('; ')}`;
  return differ(t.cols, oracle, result.columns, streamed ?? result.rows, t.ordered, { streamed: streamed !== undefined, unnamed });
}
