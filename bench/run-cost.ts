import { createExecutor, memorySource } from '../src/index.js';
import { fmt, ms, type BenchContext, type GroupResult } from './report.js';
import { tiny } from './timing.js';

/**
 * i: what a whole run of a one-fragment plan costs (validation aside: the plan object is
 * reused, so its preparation is), and what preparing saves: the same run on a fresh plan
 * object (validated every time) against a prepared plan. In-memory source, cache off.
 */
export async function runCost(ctx: BenchContext): Promise<GroupResult> {
  const executor = createExecutor({ sources: { mem: memorySource({ tables: { t: [{ id: 1, name: 'one' }] } }) }, cache: false });
  const planOf = () => ({ id: 'one', fragments: [{ id: 'only', source: 'mem', query: { table: 't' } }] });
  const prepared = executor.prepare(planOf());
  try {
    ctx.log('i: one-fragment run, prepared and fresh');
    const t = await tiny({ prepared: () => executor.execute(prepared), fresh: () => executor.execute(planOf()) }, { timeMs: 1500 });
    const ratio = t.fresh! / t.prepared!;
    return {
      rows: [
        { id: 'i', name: 'a whole run of a one-fragment plan (prepared), in µs', measured: `${fmt(t.prepared! * 1000, 3)} µs`, target: '— (report)', met: undefined },
        { id: 'i', name: 'run on a fresh plan object (validated each time) ÷ run of a prepared plan', measured: `${fmt(ratio)}×`, target: '— (report)', met: undefined },
      ],
      details: [`**i** (one in-memory fragment, cache off; tinybench medians): prepared ${ms(t.prepared!)}, fresh plan object ${ms(t.fresh!)}`],
    };
  } finally {
    await executor.close();
  }
}
