/**
 * One tributary worker process: serves the example's sources on a BullMQ queue until
 * SIGTERM, then drains (finishes its running calls) and exits. Started by
 * `examples/workers.ts`; run it by hand on any machine that reaches the Redis:
 *
 *   TRIBUTARY_REDIS_URL=redis://host:6379 QUEUE=tributary node --import tsx examples/worker-process.ts
 */
import { createWorker, drainOnSignal } from '../src/index.js';
import { exampleSources } from './worker-sources.js';

const worker = createWorker({
  sources: exampleSources(),
  connection: process.env.TRIBUTARY_REDIS_URL ?? 'redis://127.0.0.1:6379',
  queue: process.env.QUEUE ?? 'tributary',
  concurrency: Number(process.env.CONCURRENCY ?? 2),
  ...(process.env.WORKER_ID ? { id: process.env.WORKER_ID } : {}),
});
drainOnSignal(worker);
await worker.ready();
console.log(`ready ${worker.id}`);
