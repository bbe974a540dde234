import { getEventListeners } from 'node:events';
import { z } from 'zod';
import { createExecutor, memorySource, type Row, type SourceExecutor } from '../src/index.js';
import { bytes, fmt, type BenchContext, type GroupResult } from './report.js';
import { report, runChild } from './spawn.js';

/**
 * k: one executor as a long-lived service component. Rounds of ROUND mixed runs — cache hits
 * and misses, a principal per run, one AbortSignal shared by every run of a round, cancels
 * at once and mid-way, deadlines, retries, `run.rows()` left after one batch, `progress$`
 * subscribers that leave early — against a one-slot source held, during the whole round, by
 * a call that never ends, so every run on it waits in its lane and gives up there. Measured
 * in a child with `--expose-gc`: the heap after GC at the end of each round, and how many
 * of the last round's runs are still alive once it is over. A leak shows as growth per run.
 */

const ROUND = 3000;
const ROUNDS = 4;

const slowQuery = z.strictObject({ n: z.number(), fail: z.boolean().optional(), hang: z.boolean().optional() });

function slowSource(): SourceExecutor<z.infer<typeof slowQuery>> {
  let calls = 0;
  return {
    kind: 'slow',
    querySchema: slowQuery,
    maxConcurrency: 1,
    execute: (query, ctx) =>
      new Promise<Row[]>((resolve, reject) => {
        if (query.hang) return; // holds the only slot for good
        const onAbort = (): void => reject(ctx.signal.reason as Error);
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        setImmediate(() => {
          ctx.signal.removeEventListener('abort', onAbort);
          if (query.fail && ++calls % 2 === 1) reject(Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
          else resolve([{ n: query.n }]);
        });
      }),
  };
}

interface ServiceFigure {
  /** Heap after GC at the end of each round, bytes. */
  heaps: number[];
  /** Runs of the last round still reachable after it (its long call still running). */
  alive: number;
  /** Abort listeners left on the round's shared signal. */
  listeners: number;
}

/** Child task (needs --expose-gc). */
export async function serviceChild(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the service child with --expose-gc');
  const table = Array.from({ length: 50 }, (_, id) => ({ id, label: `row ${id}` }));
  const executor = createExecutor({
    sources: { m: memorySource({ tables: { t: table } }), busy: slowSource(), free: slowSource() },
    cache: { maxEntries: 500, ttlMs: 60_000 },
    retry: { attempts: 2, initialDelayMs: 1 },
    telemetry: false,
  });
  const runOne = async (i: number, signal: AbortSignal): Promise<WeakRef<object>> => {
    const kind = i % 6;
    const run = executor.run(
      {
        id: `service-${i % 40}`,
        fragments: [
          { id: 'a', source: 'm', query: { table: 't', where: { lt: ['id', i % 10] } } },
          { id: 'b', source: kind === 0 ? 'busy' : 'free', query: { n: i % 25, fail: kind === 2 } },
        ],
        merge: { op: 'union', inputs: ['a', 'b'] },
        errorPolicy: i % 2 ? 'partial' : 'fail-fast',
      },
      { principal: { id: `user-${i}` }, signal, ...(kind === 3 ? { deadlineMs: 1 } : {}) },
    );
    if (kind === 0) setImmediate(() => run.cancel('gave up waiting'));
    if (kind === 1) run.cancel();
    if (kind === 4) run.progress$.subscribe().unsubscribe();
    if (kind === 5) for await (const batch of run.rows(5)) if (batch.length > 0) break;
    await run.result.catch(() => undefined);
    return new WeakRef(run);
  };
  const heaps: number[] = [];
  let refs: WeakRef<object>[] = [];
  let listeners = 0;
  let alive = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const holder = executor.run({ fragments: [{ id: 'h', source: 'busy', query: { n: -1, hang: true } }], timeoutMs: 3_600_000 });
    const shared = new AbortController();
    refs = [];
    for (let i = 0; i < ROUND; i += 50) refs.push(...(await Promise.all(Array.from({ length: 50 }, (_, k) => runOne(round * ROUND + i + k, shared.signal)))));
    listeners = getEventListeners(shared.signal, 'abort').length;
    // Measured while the long call still holds its slot, as it would in a service.
    for (let k = 0; k < 5; k++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    heaps.push(process.memoryUsage().heapUsed);
    alive = refs.filter((r) => r.deref() !== undefined).length;
    holder.cancel();
    await holder.result.catch(() => undefined);
  }
  await executor.close();
  report({ heaps, alive, listeners } satisfies ServiceFigure);
}

export async function service(ctx: BenchContext): Promise<GroupResult> {
  ctx.log(`k: ${ROUNDS} rounds of ${ROUND} mixed runs (child process, --expose-gc)`);
  const out = await runChild<ServiceFigure>('service', [], { nodeFlags: ['--expose-gc'] });
  const figure = out.results[0]!;
  // The first round warms up (JIT, the cache filling): growth is read over the later ones.
  const growth = figure.heaps[figure.heaps.length - 1]! - figure.heaps[1]!;
  const perRun = growth / (ROUND * (ROUNDS - 2));
  return {
    rows: [
      { id: 'k', name: 'service: heap growth per run over long-lived use (after the warm-up round)', measured: `${fmt(perRun)} B/run`, target: '≤ 50 B/run', met: perRun <= 50 },
      { id: 'k', name: 'service: runs of the last round still alive after it, the long call still running', measured: String(figure.alive), target: '0', met: figure.alive === 0 },
    ],
    details: [
      `**k** (${ROUNDS} rounds × ${ROUND} runs: memory ∪ a one-slot source; a sixth wait behind a call that never ends and are cancelled there, a sixth cancelled at once, a sixth retried, a sixth under a 1 ms deadline, a sixth with a progress$ subscriber that leaves, a sixth read through run.rows() and left after one batch; one AbortSignal shared by each round's runs; a principal per run; heap after GC)`,
      '',
      `| round | heap |`,
      `|---|---|`,
      ...figure.heaps.map((h, i) => `| ${i + 1} | ${bytes(h)} |`),
      '',
      `Abort listeners left on a round's shared signal: ${figure.listeners}.`,
    ],
  };
}
