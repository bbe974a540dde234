import { Bench } from 'tinybench';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function timeOnce(fn: () => unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** A task, optionally with a hook run before each iteration outside the timed window. */
export type TinyTask = (() => unknown) | { fn: () => unknown; beforeEach: () => Promise<void> | void };

/** Median latency (ms) of each task, measured by tinybench one after the other in one Bench. */
export async function tiny(tasks: Record<string, TinyTask>, options: { timeMs?: number; warmupMs?: number } = {}): Promise<Record<string, number>> {
  const bench = new Bench({ time: options.timeMs ?? 1000, warmupTime: options.warmupMs ?? 200, iterations: 5, warmupIterations: 2, throws: true });
  for (const [name, task] of Object.entries(tasks)) {
    if (typeof task === 'function') bench.add(name, task);
    else bench.add(name, task.fn, { beforeEach: async () => task.beforeEach() });
  }
  await bench.run();
  const out: Record<string, number> = {};
  for (const task of bench.tasks) {
    const result = task.result;
    if (!('latency' in result)) throw new Error(`tinybench task ${task.name} did not complete (${result.state})`);
    out[task.name] = result.latency.p50;
  }
  return out;
}

/**
 * For workloads too slow for tinybench's sampling: runs the tasks in turn (A, B, A, B, …)
 * so that drift (GC, thermal, the database's own caches) hits both alike, and returns
 * each one's median wall time in ms.
 */
export async function alternating(tasks: Record<string, () => unknown>, rounds: number): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(tasks).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(tasks)) samples[name]!.push(await timeOnce(fn));
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

/** A seeded PRNG (mulberry32), so generated DAGs and data are the same on every run. */
export { seededRandom as seeded } from '../src/execution/seeded-random.js';
