import { createExecutor, memorySource, postgresSource, type Plan } from '../src/index.js';
import { withOrdersTable } from './pg.js';
import { fmt, ms, type BenchContext, type GroupResult } from './report.js';
import { alternating } from './timing.js';

/**
 * e: 1,000 keys (an in-memory fragment) joined to a 100,000-row PostgreSQL table, as a bind
 * join (`id = ANY($1)` with the keys bound) and as a fetch of the whole table hash-joined in
 * the merge. Same result; the ratio says what binding saves. Cache off.
 */

const TABLE_ROWS = 100_000;
const KEYS = 1000;

export async function bindjoin(ctx: BenchContext): Promise<GroupResult> {
  const name = `bind join vs whole-table fetch (${TABLE_ROWS / 1000}k rows, ${KEYS / 1000}k keys): whole-table time ÷ bind-join time`;
  if (!ctx.pg.ok) return { rows: [{ id: 'e', name, measured: ctx.pg.skipped, target: '— (report)', met: undefined }], details: [] };
  const url = ctx.pg.url;
  return withOrdersTable(url, 'bind', TABLE_ROWS, async (table) => {
    // Keys spread over the table: every 100th id.
    const keys = Array.from({ length: KEYS }, (_, i) => ({ k: 1 + i * (TABLE_ROWS / KEYS) }));
    const executor = createExecutor({
      sources: { keys: memorySource({ tables: { keys } }), pg: postgresSource({ url, max: 4 }) },
      cache: false,
    });
    const merge = { op: 'join' as const, type: 'inner' as const, left: 'keys', right: 'orders', on: [['k', 'id']] as [string, string][] };
    const columns = 'id, customer_id, total, status';
    const bind: Plan = {
      id: 'bind-join',
      fragments: [
        { id: 'keys', source: 'keys', query: { table: 'keys' } },
        { id: 'orders', source: 'pg', dependsOn: ['keys'], query: { sql: `SELECT ${columns} FROM ${table} WHERE id = ANY($1)`, params: [{ $from: 'keys', column: 'k' }] } },
      ],
      merge,
    };
    const whole: Plan = {
      id: 'whole-table',
      fragments: [
        { id: 'keys', source: 'keys', query: { table: 'keys' } },
        { id: 'orders', source: 'pg', query: { sql: `SELECT ${columns} FROM ${table}` } },
      ],
      merge,
    };
    try {
      ctx.log('e: bind join vs whole table');
      const [a, b] = [await executor.execute(bind), await executor.execute(whole)];
      if (a.rows.length !== KEYS || b.rows.length !== KEYS) throw new Error(`e: expected ${KEYS} rows, got ${a.rows.length} (bind) and ${b.rows.length} (whole table)`);
      const t = await alternating({ bind: () => executor.execute(bind), whole: () => executor.execute(whole) }, 7);
      const ratio = t.whole! / t.bind!;
      return {
        rows: [{ id: 'e', name, measured: `${fmt(ratio)}× (bind join ${ms(t.bind!)}, whole table ${ms(t.whole!)})`, target: '— (report)', met: undefined }],
        details: [`**e** (keys: memory fragment of ${KEYS} ids; orders: PostgreSQL, primary key on id; merge: inner join; cache off; median of 7 alternating rounds): bind join ${ms(t.bind!)}, whole table ${ms(t.whole!)}`],
      };
    } finally {
      await executor.close();
    }
  });
}
