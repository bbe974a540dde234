import { createExecutor, postgresSource, type Plan } from '../src/index.js';
import { withOrdersTable } from './pg.js';
import { fmt, ms, type BenchContext, type BenchRow, type GroupResult } from './report.js';
import { tiny } from './timing.js';

/**
 * d: the same one-fragment PostgreSQL plan through `executor.execute`, as a cache miss (the
 * cache is invalidated before each run, outside the timed window, so a miss pays the
 * lookup, the query and the store) and as a hit. Two fragment sizes: 1,000 rows and 1 row.
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
      '| fragment | miss | hit | miss ÷ hit |',
      '|---|---|---|---|',
    ];
    try {
      for (const shape of shapes) {
        ctx.log(`d: ${shape.name}`);
        const plan: Plan = { id: `cache-${shape.where}`, fragments: [{ id: 'orders', source: 'pg', query: { sql: `SELECT id, customer_id, total, status FROM ${table} WHERE ${shape.where}` } }] };
        const first = await executor.execute(plan);
        const second = await executor.execute(plan);
        if (second.stats.cacheHits !== 1 || first.rows.length !== second.rows.length) throw new Error(`d: the second run of ${shape.name} was not a cache hit`);
        const t = await tiny(
          {
            miss: { fn: () => executor.execute(plan), beforeEach: async () => void (await executor.cache.invalidate({})) },
            hit: () => executor.execute(plan),
          },
          { timeMs: 1500 },
        );
        const ratio = t.miss! / t.hit!;
        details.push(`| ${shape.name} | ${ms(t.miss!)} | ${ms(t.hit!)} | ${fmt(ratio)}× |`);
        rows.push({ id: 'd', name: `cache: miss ÷ hit, ${shape.name}`, measured: `${fmt(ratio)}×`, target: shape.target ? '≥ 50×' : '—', met: shape.target ? ratio >= 50 : undefined });
      }
    } finally {
      await executor.close();
    }
    return { rows, details };
  });
}
