import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, httpSource } from '../../src/index.js';
import { checkedPayload } from '../../src/remote/job-check.js';
import { describeRedis, dropQueues, REDIS_URL } from '../support/redis.js';

/**
 * A job that completed but whose rows cannot be read (they expired before the coordinator
 * read them: the worker's `resultTtlMs`) still sent its requests: they count in its
 * fragment's `maxRequests` tally, as a failed job's do, so the retry's job carries them.
 *
 * The worker here is a plain BullMQ worker that answers as tributary's does once its stored
 * rows are gone (a result naming one chunk, and the requests its call sent); it records the
 * count each job carries.
 */
describeRedis('a remote job whose rows expired before they were read', () => {
  const queue = `tributary-test-${randomUUID()}`;
  const carried: (number | undefined)[] = [];
  let worker: Worker;

  beforeAll(async () => {
    worker = new Worker(
      queue,
      async (job) => {
        carried.push(checkedPayload((job.data as { payload: unknown }).payload).requests);
        return { chunks: 1, rows: 1, bytes: 10, worker: 'expired-rows', requests: 5 };
      },
      { connection: { url: REDIS_URL } },
    );
    await worker.waitUntilReady();
  });

  afterAll(async () => {
    await worker?.close();
    await dropQueues(queue);
  });

  it("counts the requests it sent: the retry's job carries them", async () => {
    const executor = createExecutor({
      // Never called here: every call of `api` is a job on the queue.
      sources: { api: httpSource({ baseUrl: 'http://127.0.0.1:9' }) },
      remote: { connection: REDIS_URL, queue, sources: ['api'] },
      cache: false,
      telemetry: false,
      retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
    });
    try {
      const result = await executor.execute({ fragments: [{ id: 'f', source: 'api', query: { path: '/items' } }] });
      expect(result.errors).toEqual([expect.objectContaining({ code: 'SOURCE_UNAVAILABLE', message: expect.stringContaining('expired') })]);
      expect(carried).toEqual([undefined, 5]);
    } finally {
      await executor.close();
    }
  });
});
