import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, type ExecutionEvent, type Executor } from '../../src/index.js';
import { describeRedis, REDIS_URL } from '../support/redis.js';
import { bucketPlan, fixtureSources } from './fixtures/sources.js';
import { spawnWorker, stopWorker, type WorkerProcess } from './fixtures/spawn.js';

describeRedis('remote execution on two BullMQ worker processes', () => {
  const queue = `tributary-test-${randomUUID()}`;
  let workers: WorkerProcess[] = [];
  let executor: Executor | undefined;

  beforeAll(async () => {
    workers = await Promise.all(['w1', 'w2'].map((id) => spawnWorker({ QUEUE: queue, WORKER_ID: id, CONCURRENCY: '4', DELAY_MS: '5', TRIBUTARY_REDIS_URL: REDIS_URL })));
  });

  afterAll(async () => {
    await executor?.close();
    await Promise.all(workers.map((w) => stopWorker(w)));
    const q = new Queue(queue, { connection: { url: REDIS_URL } });
    await q.obliterate({ force: true });
    await q.close();
  });

  it('returns the same rows as in-process execution for a 100-fragment plan, and the events name both workers', async () => {
    const plan = bucketPlan('hundred', 100);
    const local = createExecutor({ sources: fixtureSources(), cache: false, telemetry: false });
    const expected = await local.execute(plan);
    await local.close();

    executor = createExecutor({ sources: fixtureSources(), cache: false, telemetry: false, remote: { connection: REDIS_URL, queue } });
    const run = executor.run(plan);
    const events: ExecutionEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    const result = await run.result;

    expect(result.status).toBe('ok');
    expect(result.rows).toHaveLength(1000);
    // bigint, Buffer and Date values survive the trip through Redis.
    expect(result.rows).toEqual(expected.rows);
    const remote = events.filter((e) => e.type === 'fragment.remote');
    expect(remote).toHaveLength(100);
    expect(new Set(remote.map((e) => e.worker))).toEqual(new Set(['w1', 'w2']));
    const metrics = await executor.remoteMetrics();
    expect(metrics).toMatchObject({ queue, waiting: 0, active: 0, delayed: 0, oldestWaitingMs: 0 });
  });

  it('brings back a worker-side error with its code and classification', async () => {
    executor ??= createExecutor({ sources: fixtureSources(), cache: false, telemetry: false, remote: { connection: REDIS_URL, queue } });
    // The coordinator knows a table the workers do not: the worker's memory source rejects it.
    const result = await executor.execute({ id: 'bad', fragments: [{ id: 'x', source: 'ref', query: { table: 'missing' } }] });
    expect(result.status).toBe('failed');
    expect(result.errors[0]).toMatchObject({ code: 'FRAGMENT_FAILED', retryable: false, fragmentId: 'x' });
    expect(result.errors[0]!.message).toMatch(/missing/);
  });
});
