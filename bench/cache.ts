import { createExecutor, postgresSource, type Plan } from '../src/index.js';
import { runBare } from './bare-shape.js';
import { withOrdersTable } from './pg.js';
import { fmt, ms, type BenchContext, type BenchRow, type GroupResult } from './report.js';
import { tiny } from './timing.js';

/**
 * d: the same one-fragment PostgreSQL plan through `executor.execute`, as a cache miss (the
 * cache is invalidated before each run, outside the timed window, so a miss pays the
 * lookup, the query and the store) and as a hit. Two fragment sizes: 1,000 rows and 1 row.
 * A hit is also run through DESIGN.md's bare shape (bare-shape.ts: the query actor settling
 * the cached fragment at dispatch, then merging a copy of its rows), the ceiling of the ratio
 * for the shape itself.
 */

const TABLE_ROWS = 100_000;

export async function cache(ctx: BenchContext): Promise<GroupResult> {
  const shapes = [
    { name: 'a 1,000-row fragment', where: 'id <= 1000', target: true },
    { name: 'a 1-row point fragment', where: 'id = 4242', target: false },
  ];
  if (!ctx.pg.ok) {
    const pg = ctx.pg;
    return { rows: shapes.map((s) => ({ id: 'd', name: `cache: miss ÷ hit, ${s.name}`, measured: pg.skipped, target: s.target ? '≥ 50×' : '—', met: undefined })), details: [] };
  }
  const url = ctx.pg.url;
  return withOrdersTable(url, 'cache', TABLE_ROWS, async (table) => {
    const executor = createExecutor({ sources: { pg: postgresSource({ url, max: 4 }) } });
    const rows: BenchRow[] = [];
    const details = [
      `**d** (PostgreSQL table of ${TABLE_ROWS.toLocaleString('en-US')} rows; default cache options; tinybench medians)`,
      '',
      '| fragment | miss | hit | miss ÷ hit | bare-shape hit | miss ÷ bare-shape hit |',
      '|---|---|---|---|---|---|',
    ];
    try {
      for (const shape of shapes) {
        ctx.log(`d: ${shape.name}`);
        const planObject: Plan = { id: `cache-${shape.where}`, fragments: [{ id: 'orders', source: 'pg', query: { sql: `SELECT id, customer_id, total, status FROM ${table} WHERE ${shape.where}` } }] };
        const plan = executor.prepare(planObject);
        const first = await executor.execute(plan);
        const second = await executor.execute(plan);
        if (second.stats.cacheHits !== 1 || first.rows.length !== second.rows.length) throw new Error(`d: the second run of ${shape.name} was not a cache hit`);
        const cachedRows = second.rows;
        const bareHit = () =>
          runBare({
            fragments: [{ source: 'pg', call: () => Promise.reject(new Error('d: the bare shape was asked to fetch a cached fragment')) }],
            levels: [[0]],
            cached: () => cachedRows,
            merge: (rowsOf) => rowsOf(0).slice(),
          });
        // The hits first, twice, in both orders (tinybench runs its tasks one after the other,
        // and a task that follows another inherits its garbage), each at its better median;
        // the misses after them, so their fetched rows are not collected during a hit's turn.
        const hitsA = await tiny({ hit: () => executor.execute(plan), shape: bareHit }, { timeMs: 1000 });
        const hitsB = await tiny({ shape: bareHit, hit: () => executor.execute(plan) }, { timeMs: 1000 });
        const misses = await tiny({ miss: { fn: () => executor.execute(plan), beforeEach: async () => void (await executor.cache.invalidate({})) } }, { timeMs: 1500 });
        const t = { miss: misses.miss, hit: Math.min(hitsA.hit!, hitsB.hit!), shape: Math.min(hitsA.shape!, hitsB.shape!) };
        const ratio = t.miss! / t.hit!;
        const shapeRatio = t.miss! / t.shape!;
        details.push(`| ${shape.name} | ${ms(t.miss!)} | ${ms(t.hit!)} | ${fmt(ratio)}× | ${ms(t.shape!)} | ${fmt(shapeRatio)}× |`);
        rows.push({ id: 'd', name: `cache: miss ÷ hit, ${shape.name}`, measured: `${fmt(ratio)}×`, target: shape.target ? '≥ 50×' : '—', met: shape.target ? ratio >= 50 : undefined });
        if (shape.target) {
          rows.push({ id: 'd', name: `the same miss ÷ a hit through DESIGN.md's bare shape (bench/bare-shape.ts), ${shape.name}: the shape's own ceiling`, measured: `${fmt(shapeRatio)}×`, target: '— (report)', met: undefined });
        }
      }
    } finally {
      await executor.close();
    }
    return { rows, details };
  });
}
