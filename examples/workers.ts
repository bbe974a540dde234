/**
 * Scale-out on BullMQ: two worker processes and a coordinator on this machine's Redis
 * (127.0.0.1:6379, or TRIBUTARY_REDIS_URL). The coordinator runs a 13-fragment plan whose
 * source calls execute on the workers, prints the rows and which worker ran what, then
 * stops the workers with SIGTERM (each drains its running calls). `npm run example:workers`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createExecutor } from '../src/index.js';
import { examplePlan, exampleSources } from './worker-sources.js';

const url = process.env.TRIBUTARY_REDIS_URL ?? 'redis://127.0.0.1:6379';
const queue = `tributary-example-${process.pid}`;

const probe = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
let lastError: string | undefined;
probe.on('error', (error: Error) => (lastError = error.message));
try {
  await probe.connect();
  await probe.ping();
} catch (error) {
  console.error(`The workers example needs Redis at ${url} (set TRIBUTARY_REDIS_URL): ${lastError ?? (error as Error).message}`);
  process.exit(1);
} finally {
  probe.disconnect();
}

const script = fileURLToPath(new URL('./worker-process.ts', import.meta.url));
const startWorker = (id: string): Promise<ChildProcess> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, TRIBUTARY_REDIS_URL: url, QUEUE: queue, WORKER_ID: id }, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      if (text.includes(`ready ${id}`)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker ${id} exited (${code}) before it was ready`)));
  });

console.log(`starting two workers on queue "${queue}" at ${url}`);
const workers = await Promise.all([startWorker('worker-a'), startWorker('worker-b')]);
const executor = createExecutor({ sources: exampleSources(), remote: { connection: url, queue } });
let exitCode = 0;
try {
  const run = executor.run(examplePlan);
  const ranOn = new Map<string, string>();
  run.events$.subscribe((e) => {
    if (e.type === 'fragment.remote') ranOn.set(e.fragmentId, e.worker);
    if (e.type === 'fragment.succeeded') console.log(`  ✓ ${e.fragmentId.padEnd(11)} ${String(e.rowCount).padStart(3)} rows on ${ranOn.get(e.fragmentId) ?? '?'}`);
    if (e.type === 'fragment.failed') console.log(`  ✗ ${e.fragmentId}: ${e.error.message}`);
  });
  const result = await run.result;
  console.log(`\n${result.status}: ${result.rows.length} rows in ${result.stats.durationMs.toFixed(0)} ms`);
  console.table(result.rows);
  const perWorker = new Map<string, number>();
  for (const w of ranOn.values()) perWorker.set(w, (perWorker.get(w) ?? 0) + 1);
  console.log('fragments per worker:', Object.fromEntries(perWorker));
  console.log('queue:', await executor.remoteMetrics());
  if (result.status !== 'ok') exitCode = 1;
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await executor.close();
  // SIGTERM: each worker stops taking jobs, finishes the running ones and exits 0.
  const codes = await Promise.all(
    workers.map(async (w) => {
      w.kill('SIGTERM');
      const [code] = (await once(w, 'exit')) as [number | null];
      return code;
    }),
  );
  console.log(`workers drained and exited with ${codes.join(', ')}`);
  const q = new Queue(queue, { connection: { url } });
  await q.obliterate({ force: true });
  await q.close();
}
process.exit(exitCode);
