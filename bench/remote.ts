/**
 * Scale-out on BullMQ workers: CPU-heavy fragments (each source call burns ~20 ms of CPU)
 * on one worker process vs two, against this machine's Redis (TRIBUTARY_REDIS_URL or
 * 127.0.0.1:6379). Prints the wall times and the speed-up ratio (1 worker ÷ 2 workers).
 * Runs on its own: `npx tsx bench/remote.ts` (with `--worker` it is one worker process).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { createExecutor, createWorker, drainOnSignal, memorySource, type Row, type SourceExecutor } from '../src/index.js';

const URL_ = process.env.TRIBUTARY_REDIS_URL ?? 'redis://127.0.0.1:6379';
const FRAGMENTS = 60;
const BURN_MS = 20;
const ROUNDS = 3;

function burnSource(): Record<string, SourceExecutor> {
  const inner = memorySource({ tables: { t: Array.from({ length: 100 }, (_, i) => ({ i, k: i % 10 })) } });
  return {
    cpu: {
      kind: inner.kind,
      querySchema: inner.querySchema,
      execute: async (query, ctx) => {
        const until = performance.now() + BURN_MS;
        while (performance.now() < until) {
          // a CPU-bound transform
        }
        return (await inner.execute(query, ctx)) as Row[];
      },
    },
  };
}

const plan = {
  id: 'cpu',
  fragments: Array.from({ length: FRAGMENTS }, (_, n) => ({ id: `f${n}`, source: 'cpu', query: { table: 't', where: { eq: ['k', n % 10] } } })),
  merge: { op: 'union', inputs: Array.from({ length: FRAGMENTS }, (_, n) => `f${n}`) },
};

if (process.argv.includes('--worker')) {
  const worker = createWorker({ sources: burnSource(), connection: URL_, queue: process.env.QUEUE!, concurrency: 1, id: process.env.WORKER_ID });
  drainOnSignal(worker);
  await worker.ready();
  console.log('ready');
} else {
  const queue = `tributary-bench-${process.pid}`;
  const startWorker = (id: string): Promise<ChildProcess> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--worker'], { env: { ...process.env, QUEUE: queue, WORKER_ID: id }, stdio: ['ignore', 'pipe', 'inherit'] });
      child.stdout!.setEncoding('utf8').on('data', (t: string) => t.includes('ready') && resolve(child));
      child.once('exit', (code) => reject(new Error(`bench worker ${id} exited (${code}); is Redis at ${URL_} up?`)));
    });
  const stop = async (children: ChildProcess[]): Promise<void> => {
    await Promise.all(children.map(async (c) => (c.kill('SIGTERM'), once(c, 'exit'))));
  };
  const measure = async (workers: number): Promise<number> => {
    const children = await Promise.all(Array.from({ length: workers }, (_, i) => startWorker(`w${i + 1}`)));
    const executor = createExecutor({ sources: burnSource(), cache: false, telemetry: false, remote: { connection: URL_, queue } });
    try {
      await executor.execute(plan); // warm-up: connections, JIT
      const times: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const t0 = performance.now();
        const result = await executor.execute(plan);
        times.push(performance.now() - t0);
        if (result.status !== 'ok') throw new Error(`bench run ${result.status}: ${result.errors[0]?.message}`);
      }
      return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    } finally {
      await executor.close();
      await stop(children);
    }
  };
  try {
    const one = await measure(1);
    const two = await measure(2);
    console.log(`remote: ${FRAGMENTS} fragments × ${BURN_MS} ms CPU — 1 worker ${one.toFixed(0)} ms, 2 workers ${two.toFixed(0)} ms, speed-up ×${(one / two).toFixed(2)}`);
  } finally {
    const q = new Queue(queue, { connection: { url: URL_ } });
    await q.obliterate({ force: true }).catch(() => undefined);
    await q.close();
  }
}
