import { createExecutor, createVirtualClock, type ExecutorOptions } from '../src/index.js';
import { overloadedSource } from '../test/support/overload-source.js';
import { fmt, type BenchContext, type GroupResult } from './report.js';

const CALLS = 400;

/** CALLS one-call fragments on the simulated overloaded server, in virtual time. */
async function overloaded(maxConcurrency: number, options: Partial<ExecutorOptions> = {}) {
  const clock = createVirtualClock();
  const source = overloadedSource(clock, { maxConcurrency });
  const executor = createExecutor({ sources: { db: source }, clock, cache: false, concurrency: 10_000, telemetry: false, ...options });
  const ids = Array.from({ length: CALLS }, (_, i) => `f${i}`);
  try {
    let done = false;
    const pending = executor.execute({ fragments: ids.map((id, n) => ({ id, source: 'db', query: { n } })), merge: { op: 'union', inputs: ids }, errorPolicy: 'partial' }).finally(() => (done = true));
    while (!done) await clock.advanceAsync(5);
    const result = await pending;
    return { ms: clock.now(), status: result.status, failed: result.errors.length, retries: result.stats.retries, calls: source.figures.calls, peak: source.figures.peak, limit: executor.metrics().sources.db!.limit };
  } finally {
    await executor.close();
  }
}

/**
 * j: adaptive concurrency on a server whose latency grows past 8 calls in flight (with the
 * square of the load) and which rejects past 24: the run's virtual time with
 * `adaptiveConcurrency: true` (lane max 64) ÷ with the ideal fixed limit of 8, and what a
 * fixed limit of 64 does. Virtual time: the figures are exact and the same on any machine.
 */
export async function loadControl(ctx: BenchContext): Promise<GroupResult> {
  ctx.log('j: adaptive concurrency on a simulated overloaded server (virtual time)');
  const ideal = await overloaded(8);
  const fixed = await overloaded(64);
  const adaptive = await overloaded(64, { adaptiveConcurrency: true });
  const ratio = adaptive.ms / ideal.ms;
  const describe = (r: Awaited<ReturnType<typeof overloaded>>): string =>
    `${r.ms} ms, ${r.status}${r.failed ? ` (${r.failed} failed)` : ''}, ${r.retries} retries over ${r.calls} calls, peak ${r.peak} in flight, limit ${r.limit}`;
  return {
    rows: [
      { id: 'j', name: 'adaptive concurrency: run time with adaptiveConcurrency ÷ with the ideal fixed limit (8), overloaded server, virtual time', measured: `${fmt(ratio)}× (retries ${fmt((100 * adaptive.retries) / adaptive.calls, 1)}% of calls)`, target: '≤ 1.5×, retries < 5%', met: ratio <= 1.5 && adaptive.retries < 0.05 * adaptive.calls },
      { id: 'j', name: 'the same server with a fixed limit of 64: run time ÷ ideal (and how it ended)', measured: `${fmt(fixed.ms / ideal.ms)}× (${fixed.status}, ${fixed.failed} of ${CALLS} fragments failed)`, target: '— (report)', met: undefined },
    ],
    details: [`**j** (${CALLS} one-call fragments; 10 ms up to 8 in flight, latency × (n/8)² past 8, retryable rejection past 24; virtual clock): ideal fixed 8: ${describe(ideal)}; fixed 64: ${describe(fixed)}; adaptive: ${describe(adaptive)}`],
  };
}
