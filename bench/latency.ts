import { z } from 'zod';
import { createExecutor, type Plan, type Row, type SourceExecutor } from '../src/index.js';
import { fmt, ms, type BenchContext, type BenchRow, type GroupResult } from './report.js';
import { median, seeded, timeOnce } from './timing.js';

/**
 * b: latency hiding. Seeded random 50-fragment DAGs whose source sleeps a known time per
 * fragment (5–30 ms); wall time ÷ the DAG's critical path (the longest chain of sleeps),
 * for `schedule: 'eager'`, `'levels'`, a sequential baseline, and a hand-written eager
 * executor (each node starts when its own dependencies are done) that shows what the timers
 * alone cost over the ideal.
 */

const NODES = 50;
const SEEDS = [1, 2, 3, 4, 5];
const ROUNDS = 5;

interface Node {
  id: string;
  sleepMs: number;
  deps: number[];
}

function randomDag(seed: number): Node[] {
  const random = seeded(seed);
  const nodes: Node[] = [];
  for (let i = 0; i < NODES; i++) {
    const deps = new Set<number>();
    // Up to 3 dependencies among the 12 nodes before: a DAG of some depth and width.
    const k = i === 0 ? 0 : Math.floor(random() * 4);
    for (let j = 0; j < k; j++) deps.add(Math.max(0, i - 1 - Math.floor(random() * 12)));
    nodes.push({ id: `n${i}`, sleepMs: 5 + Math.floor(random() * 26), deps: [...deps] });
  }
  return nodes;
}

function criticalPath(nodes: readonly Node[]): number {
  const finish: number[] = [];
  nodes.forEach((n, i) => {
    finish[i] = n.sleepMs + Math.max(0, ...n.deps.map((d) => finish[d]!));
  });
  return Math.max(...finish);
}

const sleep = (msToSleep: number, signal?: AbortSignal): Promise<Row[]> =>
  new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve([{ slept: msToSleep }]);
    }, msToSleep);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

const sleepQuery = z.strictObject({ ms: z.number().int().nonnegative(), node: z.string() });

const sleepSource: SourceExecutor<z.infer<typeof sleepQuery>> = {
  kind: 'sleep',
  querySchema: sleepQuery,
  execute: (query, ctx) => sleep(query.ms, ctx.signal),
};

function planOf(nodes: readonly Node[], schedule: 'eager' | 'levels'): Plan {
  const used = new Set(nodes.flatMap((n) => n.deps));
  const sinks = nodes.filter((_, i) => !used.has(i)).map((n) => n.id);
  return {
    id: `dag-${schedule}`,
    schedule,
    fragments: nodes.map((n) => ({
      id: n.id,
      source: 'sleep',
      // The node id keeps every query distinct, so nothing could ever be shared between fragments.
      query: { ms: n.sleepMs, node: n.id },
      ...(n.deps.length > 0 ? { dependsOn: n.deps.map((d) => nodes[d]!.id) } : {}),
    })),
    merge: { op: 'union', inputs: sinks },
  };
}

async function sequential(nodes: readonly Node[]): Promise<void> {
  for (const n of nodes) await sleep(n.sleepMs);
}

async function handEager(nodes: readonly Node[]): Promise<void> {
  const done: Promise<Row[]>[] = [];
  nodes.forEach((n, i) => {
    done[i] = Promise.all(n.deps.map((d) => done[d]!)).then(() => sleep(n.sleepMs));
  });
  await Promise.all(done);
}

export async function latency(ctx: BenchContext): Promise<GroupResult> {
  // Concurrency above the DAG's width, so the cap never delays a ready fragment.
  const executor = createExecutor({ sources: { sleep: sleepSource }, concurrency: 64, cache: false });
  const ratios = { eager: [] as number[], levels: [] as number[], sequential: [] as number[], hand: [] as number[] };
  const details = [
    `**b** (${SEEDS.length} seeded DAGs of ${NODES} fragments, sleeps 5–30 ms, up to 3 dependencies each; cache off, concurrency 64; median of ${ROUNDS} alternating rounds per DAG)`,
    '',
    '| DAG | levels | critical path | eager | levels | sequential | hand-written eager |',
    '|---|---|---|---|---|---|---|',
  ];
  try {
    for (const seed of SEEDS) {
      ctx.log(`b: DAG ${seed}`);
      const nodes = randomDag(seed);
      const critical = criticalPath(nodes);
      const eagerPlan = planOf(nodes, 'eager');
      const levelsPlan = planOf(nodes, 'levels');
      const depth = executor.validate(levelsPlan).levels.length;
      const samples = { eager: [] as number[], levels: [] as number[], hand: [] as number[] };
      await executor.execute(eagerPlan); // warm-up
      for (let r = 0; r < ROUNDS; r++) {
        samples.eager.push(await timeOnce(() => executor.execute(eagerPlan)));
        samples.levels.push(await timeOnce(() => executor.execute(levelsPlan)));
        samples.hand.push(await timeOnce(() => handEager(nodes)));
      }
      const seq = await timeOnce(() => sequential(nodes));
      const e = median(samples.eager);
      const l = median(samples.levels);
      const h = median(samples.hand);
      ratios.eager.push(e / critical);
      ratios.levels.push(l / critical);
      ratios.sequential.push(seq / critical);
      ratios.hand.push(h / critical);
      details.push(
        `| ${seed} | ${depth} | ${critical} ms | ${ms(e)} (${fmt(e / critical)}×) | ${ms(l)} (${fmt(l / critical)}×) | ${ms(seq)} (${fmt(seq / critical)}×) | ${ms(h)} (${fmt(h / critical)}×) |`,
      );
    }
  } finally {
    await executor.close();
  }
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const worst = (xs: number[]): number => Math.max(...xs);
  const row = (name: string, xs: number[], target?: number): BenchRow => ({
    id: 'b',
    name: `latency hiding: ${name} wall time ÷ critical path (mean of ${SEEDS.length} DAGs)`,
    measured: `${fmt(mean(xs))}× (worst ${fmt(worst(xs))}×)`,
    target: target === undefined ? '—' : `≤ ${target}×`,
    met: target === undefined ? undefined : mean(xs) <= target,
  });
  return {
    rows: [row("schedule 'eager'", ratios.eager, 1.05), row("schedule 'levels'", ratios.levels), row('sequential baseline', ratios.sequential), row('hand-written eager (timer floor)', ratios.hand)],
    details,
  };
}
