import { createExecutor, memorySource } from '../src/index.js';
import { fmt, ms, type BenchContext, type GroupResult } from './report.js';
import { report, runChild } from './spawn.js';
import { tiny } from './timing.js';

interface Costs {
  prepared: number;
  /** The same plan object run again: its JSON text is compared with its preparation's. */
  kept: number;
  fresh: number;
}

/** The one-fragment plan of row i, prepared, kept and fresh, timed with tinybench (ms). */
async function measure(timeMs: number): Promise<Costs> {
  const executor = createExecutor({ sources: { mem: memorySource({ tables: { t: [{ id: 1, name: 'one' }] } }) }, cache: false });
  const planOf = () => ({ id: 'one', fragments: [{ id: 'only', source: 'mem', query: { table: 't' } }] });
  const prepared = executor.prepare(planOf());
  const kept = planOf();
  try {
    const t = await tiny({ prepared: () => executor.execute(prepared), kept: () => executor.execute(kept), fresh: () => executor.execute(planOf()) }, { timeMs });
    return { prepared: t.prepared!, kept: t.kept!, fresh: t.fresh! };
  } finally {
    await executor.close();
  }
}

/** In a bench child (started with other V8 flags): row i's measurement, reported. */
export async function runCostChild(): Promise<void> {
  report(await measure(1500));
}

/**
 * i: what a whole run of a one-fragment plan costs (validation aside: the plan is
 * prepared), and what preparing saves: the same run on a kept plan object (its JSON text
 * compared with its preparation's) and on a fresh plan object (validated every time)
 * against a prepared plan. In-memory source, cache off. The
 * same measurement also runs in a process started with `--no-allocation-site-pretenuring`:
 * V8's allocation-site pretenuring can decide that XState's per-run objects live long and
 * allocate them in the old generation, and a run then costs up to twice as much (bench
 * RESULTS.md → Findings).
 */
export async function runCost(ctx: BenchContext): Promise<GroupResult> {
  ctx.log('i: one-fragment run, prepared and fresh');
  const t = await measure(1500);
  ctx.log('i: the same in a process without allocation-site pretenuring');
  const flagged = (await runChild<Costs>('i-run', [], { nodeFlags: ['--no-allocation-site-pretenuring'] })).results[0]!;
  const ratio = t.fresh / t.prepared;
  return {
    rows: [
      { id: 'i', name: 'a whole run of a one-fragment plan (prepared), in µs', measured: `${fmt(t.prepared * 1000, 3)} µs`, target: '— (report)', met: undefined },
      { id: 'i', name: 'run on a fresh plan object (validated each time) ÷ run of a prepared plan', measured: `${fmt(ratio)}×`, target: '— (report)', met: undefined },
      { id: 'i', name: 'run on a kept plan object (its JSON text compared) ÷ run of a prepared plan', measured: `${fmt(t.kept / t.prepared)}×`, target: '— (report)', met: undefined },
      { id: 'i', name: 'the same prepared run in a process started with --no-allocation-site-pretenuring, in µs', measured: `${fmt(flagged.prepared * 1000, 3)} µs`, target: '— (report)', met: undefined },
    ],
    details: [
      `**i** (one in-memory fragment, cache off; tinybench medians): prepared ${ms(t.prepared)}, kept plan object ${ms(t.kept)}, fresh plan object ${ms(t.fresh)}; with \`--no-allocation-site-pretenuring\`: prepared ${ms(flagged.prepared)}, fresh ${ms(flagged.fresh)}`,
    ],
  };
}
