import { randomUUID } from 'node:crypto';
import { serialize } from 'node:v8';
import { gzipSync } from 'node:zlib';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, memorySource, type Executor } from '../../src/index.js';
import { describeRedis, inspectClient, REDIS_URL } from '../support/redis.js';

/**
 * What a worker stored in Redis is data the coordinator checks before it uses it, as a run
 * store's rows are: the gunzipped size is capped by the call's maxBytes (no decompression
 * bomb, no row past the limit from a worker that ignored it) and the completed job's
 * description must make sense. The "worker" here is a plain BullMQ worker answering as a
 * broken or hostile one would.
 */
describeRedis('rows a worker stored, read by the coordinator', () => {
  const queue = `tributary-test-${randomUUID()}`;
  const redis = inspectClient();
  let answer: (jobId: string) => Promise<unknown>;
  let rogue: Worker;
  let executor: Executor;
  beforeAll(async () => {
    rogue = new Worker(queue, (job) => answer(job.id!), { connection: { url: REDIS_URL } });
    await rogue.waitUntilReady();
    executor = createExecutor({
      sources: { ref: memorySource({ tables: { t: [] } }) },
      cache: false,
      telemetry: false,
      retry: { attempts: 1 },
      rowLimits: { maxBytes: 1 << 20 },
      remote: { connection: REDIS_URL, queue },
    });
  });
  afterAll(async () => {
    await executor.close();
    await rogue.close();
    const q = new Queue(queue, { connection: { url: REDIS_URL } });
    await q.obliterate({ force: true });
    await q.close();
    const keys = await redis.keys(`tributary:${queue}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });
  const plan = { id: 'stored', fragments: [{ id: 'f', source: 'ref', query: { table: 't' } }] };

  it('refuses rows that gunzip past the call\'s maxBytes (a 64 MB row in 64 KB of gzip)', async () => {
    answer = async (jobId) => {
      const bomb = gzipSync(serialize([{ s: 'x'.repeat(64 << 20) }]));
      await redis.set(`tributary:${queue}:result:${jobId}:0`, bomb, 'PX', 60_000);
      return { chunks: 1, rows: 1, bytes: bomb.length, worker: 'rogue' };
    };
    const result = await executor.execute(plan);
    expect(result.status).toBe('failed');
    expect(result.errors[0]).toMatchObject({ code: 'LIMIT_EXCEEDED', retryable: false, message: expect.stringContaining('maxBytes') });
  });

  it('refuses a completed job whose description is not one a worker gives', async () => {
    for (const returned of [{ chunks: 1e9, rows: 1, bytes: 1, worker: 'rogue' }, { chunks: -1, rows: 0, bytes: 0, worker: 'rogue' }, { chunks: 0, rows: 0, bytes: 0, worker: 'rogue', columns: [{}] }, 'rows']) {
      answer = () => Promise.resolve(returned);
      const result = await executor.execute(plan);
      expect(result.errors[0]).toMatchObject({ code: 'SOURCE_BAD_RESPONSE', retryable: false });
    }
  });
});
