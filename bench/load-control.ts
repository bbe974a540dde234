import { createExecutor, createVirtualClock, type ExecutorOptions } from '../src/index.js';
import { overloadedSource } from '../test/support/overload-source.js';
import { tailSource } from '../test/support/tail-source.js';
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

const TAIL_FRAGMENTS = 100;

/** TAIL_FRAGMENTS one-call fragments where every 20th call takes 300 ms: the slowest fragment's time and the calls made. */
async function tail(options: Partial<ExecutorOptions> = {}) {
  const clock = createVirtualClock();
  const source = tailSource(clock);
  const executor = createExecutor({ sources: { s: source }, clock, cache: false, concurrency: 1000, telemetry: false, ...options });
  const ids = Array.from({ length: TAIL_FRAGMENTS }, (_, i) => `f${i}`);
  try {
    let done = false;
    const pending = executor.execute({ fragments: ids.map((id, n) => ({ id, source: 's', query: { n } })), merge: { op: 'union', inputs: ids } }).finally(() => (done = true));
    while (!done) await clock.advanceAsync(5);
    const result = await pending;
    return { slowestMs: Math.max(...Object.values(result.fragments).map((f) => f.durationMs ?? Infinity)), calls: source.attempts.length };
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
  ctx.log('j: hedged requests against a 300 ms tail (virtual time)');
  const plain = await tail();
  const hedged = await tail({ hedge: { afterMs: 30 } });
  const extra = (hedged.calls - TAIL_FRAGMENTS) / TAIL_FRAGMENTS;
  const describe = (r: Awaited<ReturnType<typeof overloaded>>): string =>
    `${r.ms} ms, ${r.status}${r.failed ? ` (${r.failed} failed)` : ''}, ${r.retries} retries over ${r.calls} calls, peak ${r.peak} in flight, limit ${r.limit}`;
  return {
    rows: [
      { id: 'j', name: 'adaptive concurrency: run time with adaptiveConcurrency ÷ with the ideal fixed limit (8), overloaded server, virtual time', measured: `${fmt(ratio)}× (retries ${fmt((100 * adaptive.retries) / adaptive.calls, 1)}% of calls)`, target: '≤ 1.5×, retries < 5%', met: ratio <= 1.5 && adaptive.retries < 0.05 * adaptive.calls },
      { id: 'j', name: 'the same server with a fixed limit of 64: run time ÷ ideal (and how it ended)', measured: `${fmt(fixed.ms / ideal.ms)}× (${fixed.status}, ${fixed.failed} of ${CALLS} fragments failed)`, target: '— (report)', met: undefined },
      { id: 'j', name: 'hedged requests (afterMs 30), every 20th call 300 ms: slowest fragment, hedged ÷ not hedged, virtual time', measured: `${fmt(hedged.slowestMs / plain.slowestMs)}× (${hedged.slowestMs} ms vs ${plain.slowestMs} ms; ${fmt(100 * extra, 1)}% extra calls)`, target: '< 120 ms, extra ≤ 15%', met: hedged.slowestMs < 120 && extra <= 0.15 },
    ],
    details: [`**j** hedging: ${TAIL_FRAGMENTS} one-call fragments, 10 ms each but every 20th call 300 ms; slowest fragment ${plain.slowestMs} ms without hedging, ${hedged.slowestMs} ms with \`hedge: { afterMs: 30 }\` (${hedged.calls} calls)`, `**j** (${CALLS} one-call fragments; 10 ms up to 8 in flight, latency × (n/8)² past 8, retryable rejection past 24; virtual clock): ideal fixed 8: ${describe(ideal)}; fixed 64: ${describe(fixed)}; adaptive: ${describe(adaptive)}`],
  };
}
