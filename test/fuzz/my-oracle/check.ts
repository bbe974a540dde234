import { Decimal } from 'decimal.js';
import { createExecutor, mysqlSource, postgresSource, type Executor } from '../../../src/index.js';
import { mysqlUrl, pgUrl } from '../../support/servers.js';
import { show } from '../harness.js';
import { judgeRun, MODES, type Mode } from '../pg-oracle/check.js';
import { Stores } from '../pg-oracle/stores.js';
import type { OutCol } from '../pg-oracle/merge-sql.js';
import { MyStores } from './stores.js';
import { translateMy } from './translate.js';
import type { MyRecipe } from './world.js';

/**
 * One fuzz case against the MariaDB oracle: load the world, translate the recipe, ask
 * MariaDB, then run the plan by levels, eagerly (from the cache the first run filled) and
 * streamed, judging each as the PostgreSQL oracle does (test/fuzz/pg-oracle/compare.ts:
 * exact values, decimals as the values policy spells them).
 */

/** Far more digits than the 34 an average is rounded to, so rounding this first changes nothing. */
const Exact = Decimal.clone({ precision: 120, rounding: Decimal.ROUND_HALF_EVEN, toExpNeg: -9e15, toExpPos: 9e15 });

/** MariaDB's `sum/count` as the exact quotient's decimal text, in a nest's rows too. */
function exactCell(col: OutCol, cell: string | null): string | null {
  if (cell === null) return null;
  if (col.type === 'avg') {
    const [sum, n] = cell.split('/') as [string, string];
    return new Exact(sum).div(n).toFixed();
  }
  if (col.type === 'nest') {
    const children = col.children ?? [];
    const rows = JSON.parse(cell) as (string | null)[][];
    return JSON.stringify(rows.map((row) => children.map((c, i) => exactCell(c, row[i] ?? null))));
  }
  return cell;
}

export class MyOracleBench {
  private constructor(readonly stores: MyStores, readonly executor: Executor) {}

  static async open(): Promise<MyOracleBench> {
    const stores = await MyStores.open();
    const executor = createExecutor({
      sources: { pg: postgresSource({ url: pgUrl() }), my: mysqlSource({ url: mysqlUrl() }) },
      // The cache is on and emptied per case: the eager run reads what the levels run stored.
      retry: { attempts: 1 },
    });
    return new MyOracleBench(stores, executor);
  }

  async close(): Promise<void> {
    await this.executor.close();
    await this.stores.close();
  }

  /** Runs one recipe; throws with the plan, data and difference when tributary disagrees. */
  async check(recipe: MyRecipe, modes: Mode[] = MODES): Promise<void> {
    const { world } = recipe.plan;
    await this.stores.load(world, recipe.collation);
    await this.executor.cache.invalidate({});
    this.executor.unregister('mem');
    this.executor.register('mem', Stores.memory(world));
    const t = translateMy(recipe, this.stores);
    const oracle = t.fails ? [] : (await this.stores.query(t.sql)).map((row) => row.map((cell, i) => exactCell(t.cols[i] as OutCol, cell)));
    for (const mode of modes) {
      const problem = await judgeRun(this.executor, t, oracle, mode);
      if (problem !== undefined) {
        throw new Error(`${mode}: ${problem}\n  plan: ${show(t.plan)}\n  placement: ${show(world.placement)} collation: ${show(recipe.collation)}\n  rows: ${show(world.rows)}\n  oracle: ${t.sql}`);
      }
    }
  }
}
