import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, expect, it } from 'vitest';
import { createExecutor, from, memorySource, type ExecutionEvent, type Executor, type Plan } from '../../src/index.js';
import { describeRedis, REDIS_URL } from '../support/redis.js';
import { fixtureSources } from './fixtures/sources.js';
import { spawnWorker, stopWorker, type WorkerProcess } from './fixtures/spawn.js';

/** The coordinator's sources: `keys` (local) and `ref` (run on the workers). */
const sources = () => ({ ...fixtureSources(), keys: memorySource({ tables: { keys: Array.from({ length: 40 }, (_, k) => ({ k })) } }) });

/** 40 keys bound into `ref` in batches of 4: ten calls, ten jobs. */
const plan: Plan = {
  id: 'batches',
  fragments: [
    { id: 'keys', source: 'keys', query: { table: 'keys' } },
    { id: 'rows', source: 'ref', dependsOn: ['keys'], query: { table: 'items', where: { in: ['bucket', from('keys', 'k')] } }, batch: { param: 0, size: 4 } },
  ],
  merge: { op: 'sort', input: 'rows', by: [{ column: 'id' }] },
};

describeRedis('a batched bind join whose worker is SIGKILLed mid-batch', () => {
  const queue = `tributary-test-${randomUUID()}`;
  const workers: WorkerProcess[] = [];
  let executor: Executor | undefined;

  afterAll(async () => {
    await executor?.close();
    await Promise.all(workers.map((w) => stopWorker(w)));
    const q = new Queue(queue, { connection: { url: REDIS_URL } });
    await q.obliterate({ force: true });
    await q.close();
  });

  it('retries the dead worker’s batches on the other worker, reports them, and drops no row', { timeout: 60_000 }, async () => {
    const env = { QUEUE: queue, CONCURRENCY: '2', DELAY_MS: '300', LOCK_MS: '1000', TRIBUTARY_REDIS_URL: REDIS_URL };
    const [victim, survivor] = await Promise.all([spawnWorker({ ...env, WORKER_ID: 'victim' }), spawnWorker({ ...env, WORKER_ID: 'survivor' })]);
    workers.push(victim!, survivor!);
    const local = createExecutor({ sources: sources(), cache: false, telemetry: false });
    const expected = await local.execute(plan);
    await local.close();
    expect(expected.rows).toHaveLength(400);

    executor = createExecutor({ sources: sources(), cache: false, telemetry: false, retry: { attempts: 3, initialDelayMs: 20, maxDelayMs: 100 }, remote: { connection: REDIS_URL, queue, sources: ['ref'] } });
    const run = executor.run(plan);
    const events: ExecutionEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    // The victim is mid-batch (it has reported a job of its own) when it dies.
    await new Promise<void>((resolve) => {
      const sub = run.events$.subscribe((e) => {
        if (e.type === 'fragment.remote' && e.worker === 'victim') {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    await stopWorker(victim, 'SIGKILL');
    const result = await run.result;

    expect(result.status).toBe('ok');
    expect(result.rows).toEqual(expected.rows);
    const failed = events.filter((e) => e.type === 'fragment.attempt.failed');
    expect(failed.length).toBeGreaterThan(0);
    // The victim's batches failed as stalled (a loaded machine may stall one of the survivor's too).
    expect(failed.some((e) => /victim stopped answering/.test(e.error.message))).toBe(true);
    for (const e of failed) {
      expect(e.error).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true, message: expect.stringMatching(/stopped answering/) });
      expect(e.batch).toBeDefined();
      // Each failed batch was retried, and the retry ran on the survivor.
      expect(events.some((r) => r.type === 'fragment.remote' && r.batch?.index === e.batch!.index && r.attempt === e.attempt + 1 && r.worker === 'survivor')).toBe(true);
    }
    expect(result.fragments['rows']).toMatchObject({ status: 'succeeded', rowCount: 400 });
  });
});
