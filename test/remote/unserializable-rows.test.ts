import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { z } from 'zod';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, createWorker, memorySource, type Executor, type RemoteWorker, type SourceExecutor } from '../../src/index.js';
import { describeRedis, REDIS_URL } from '../support/redis.js';

/**
 * Rows a worker's source returns are V8-serialized into Redis. A custom source whose row holds
 * what V8 cannot serialize (a function) fails its fragment with SOURCE_BAD_RESPONSE at the
 * value's path (`rows[1].fn`), not retried — V8's own message would quote the function's
 * source, and it must not reach the coordinator.
 */
describeRedis('a remote worker whose source returns rows V8 cannot serialize', () => {
  const queue = `tributary-test-${randomUUID()}`;
  let worker: RemoteWorker;
  let executor: Executor;
  const calls = { worker: 0, coordinator: 0 };

  /** Rows of one id each; `bad: true` puts a function in the second row. */
  const custom = (where: keyof typeof calls): SourceExecutor<{ bad: boolean }> => ({
    kind: 'custom',
    querySchema: z.object({ bad: z.boolean() }).strict(),
    execute: (query) => {
      calls[where]++;
      return Promise.resolve(query.bad ? [{ id: 1 }, { id: 2, fn: () => 'secret-row-body' }] : [{ id: 1 }, { id: 2 }]);
    },
  });

  beforeAll(async () => {
    worker = createWorker({ id: 'w1', sources: { src: custom('worker') }, connection: REDIS_URL, queue });
    await worker.ready();
    executor = createExecutor({ sources: { src: custom('coordinator'), mem: memorySource({ tables: {} }) }, cache: false, remote: { connection: REDIS_URL, queue, sources: ['src'] }, retry: { attempts: 3 } });
  });
  afterAll(async () => {
    await executor?.close();
    await worker?.close();
    const q = new Queue(queue, { connection: { url: REDIS_URL } });
    await q.obliterate({ force: true });
    await q.close();
  });

  it('fails the fragment SOURCE_BAD_RESPONSE at the row value, once, without its content; the next call is served', async () => {
    calls.worker = 0;
    calls.coordinator = 0;
    const result = await executor.execute({ id: 'rows', fragments: [{ id: 'f', source: 'src', query: { bad: true } }] });
    expect(result.status).toBe('failed');
    expect(result.errors).toEqual([expect.objectContaining({ code: 'SOURCE_BAD_RESPONSE', fragmentId: 'f', retryable: false })]);
    expect(result.errors[0]!.message).toContain('rows[1].fn');
    expect(result.errors[0]!.message).toContain('a function');
    expect(JSON.stringify(result.errors)).not.toMatch(/secret/);
    // The worker ran it once (not retried); the coordinator's own copy was never called.
    expect(calls).toEqual({ worker: 1, coordinator: 0 });
    const next = await executor.execute({ id: 'rows-ok', fragments: [{ id: 'f', source: 'src', query: { bad: false } }] });
    expect(next.status).toBe('ok');
    expect(next.rows).toEqual([{ id: 1 }, { id: 2 }]);
  });
});
