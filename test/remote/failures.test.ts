import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, type ExecutionEvent, type Executor } from '../../src/index.js';
import { describeRedis, REDIS_URL } from '../support/redis.js';
import { bucketPlan, fixtureSources } from './fixtures/sources.js';
import { spawnWorker, stopWorker, type WorkerProcess } from './fixtures/spawn.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value) || Date.now() > until) return value;
    await sleep(50);
  }
}

describeRedis('remote execution when workers die or runs are cancelled', () => {
  const queue = `tributary-test-${randomUUID()}`;
  const workers: WorkerProcess[] = [];
  const executors: Executor[] = [];
  let q: Queue;
  const remoteExecutor = (): Executor => {
    const executor = createExecutor({
      sources: fixtureSources(),
      cache: false,
      telemetry: false,
      circuitBreaker: false,
      retry: { attempts: 3, initialDelayMs: 20, maxDelayMs: 100 },
      remote: { connection: REDIS_URL, queue },
    });
    executors.push(executor);
    return executor;
  };

  beforeAll(() => {
    q = new Queue(queue, { connection: { url: REDIS_URL } });
  });

  afterAll(async () => {
    await Promise.all(executors.map((e) => e.close()));
    await Promise.all(workers.map((w) => stopWorker(w)));
    await q.obliterate({ force: true });
    await q.close();
  });

  it('still returns the complete result when a worker is SIGKILLed mid-run, retrying its jobs on the other', async () => {
    const env = { QUEUE: queue, CONCURRENCY: '2', DELAY_MS: '200', LOCK_MS: '1000', TRIBUTARY_REDIS_URL: REDIS_URL };
    const [victim, survivor] = await Promise.all([spawnWorker({ ...env, WORKER_ID: 'victim' }), spawnWorker({ ...env, WORKER_ID: 'survivor' })]);
    workers.push(victim!, survivor!);
    const plan = bucketPlan('kill', 24);
    const local = createExecutor({ sources: fixtureSources(), cache: false, telemetry: false });
    const expected = await local.execute(plan);
    await local.close();

    const run = remoteExecutor().run(plan);
    const events: ExecutionEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    // Both workers are mid-call (200 ms each) when the victim dies.
    await sleep(300);
    await stopWorker(victim, 'SIGKILL');
    const result = await run.result;

    expect(result.status).toBe('ok');
    expect(result.rows).toEqual(expected.rows);
    const failed = events.filter((e) => e.type === 'fragment.attempt.failed');
    expect(failed.length).toBeGreaterThan(0);
    for (const e of failed) expect(e.error).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true });
    expect(failed[0]!.error.message).toMatch(/victim stopped answering/);
    expect(events.some((e) => e.type === 'fragment.retrying')).toBe(true);
    const remote = events.filter((e) => e.type === 'fragment.remote');
    // The dead worker's attempts are named too, and the retries ran on the survivor.
    expect(remote.some((e) => e.worker === 'victim' && e.attempt === 1 && failed.some((f) => f.fragmentId === e.fragmentId))).toBe(true);
    for (const f of failed) expect(remote.some((e) => e.fragmentId === f.fragmentId && e.attempt === f.attempt + 1 && e.worker === 'survivor')).toBe(true);
    expect(Object.values(result.fragments).some((f) => f.attempts > 1)).toBe(true);
  });

  it('run.cancel() removes the waiting jobs and aborts the running source calls on the worker', async () => {
    await Promise.all(workers.map((w) => stopWorker(w)));
    const worker = await spawnWorker({ QUEUE: queue, WORKER_ID: 'slow', CONCURRENCY: '2', DELAY_MS: '5000', TRIBUTARY_REDIS_URL: REDIS_URL });
    workers.push(worker);
    const executor = remoteExecutor();
    const run = executor.run(bucketPlan('cancel', 6));
    const busy = await eventually(() => executor.remoteMetrics(), (m) => m?.active === 2 && m.waiting === 4, 5000);
    expect(busy).toMatchObject({ active: 2, waiting: 4 });
    expect(busy!.oldestWaitingMs).toBeGreaterThanOrEqual(0);

    run.cancel('enough');
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    const counts = await eventually(
      () => q.getJobCounts('active', 'waiting', 'delayed'),
      (c) => (c.active ?? 0) + (c.waiting ?? 0) + (c.delayed ?? 0) === 0,
      3000,
    );
    expect(counts).toEqual({ active: 0, waiting: 0, delayed: 0 });
    await worker.waitFor(/^aborted b\d$/, 2000);
    expect(worker.lines.filter((l) => l.startsWith('aborted '))).toHaveLength(2);
  });
});
