import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, expect, it } from 'vitest';
import { createExecutor, createWorker, memorySource } from '../../src/index.js';
import { describeRedis, freezableProxy, REDIS_URL } from '../support/redis.js';
import { hanging, settles } from '../support/hanging-source.js';

/**
 * Redis goes away after the coordinator and the worker connected (a restart, a failover, a
 * network cut): shutting down must not wait for it to come back. BullMQ's own close sends
 * QUIT, which waits for a reconnect that may never happen, and drops its error handlers, so
 * the client retried forever, unhandled, keeping the process alive.
 */
describeRedis('remote execution when Redis goes away after connecting', () => {
  const queue = `tributary-test-${randomUUID()}`;
  afterAll(async () => {
    const q = new Queue(queue, { connection: { url: REDIS_URL } });
    await q.obliterate({ force: true });
    await q.close();
  });

  it('executor.close() and worker.close() end at once instead of waiting for Redis', async () => {
    const proxy = await freezableProxy();
    const sources = { ref: memorySource({ tables: { t: [{ a: 1 }] } }) };
    const worker = createWorker({ sources, connection: proxy.url, queue });
    await worker.ready();
    const executor = createExecutor({ sources, cache: false, telemetry: false, remote: { connection: proxy.url, queue } });
    expect((await executor.execute({ id: 'gone', fragments: [{ id: 'f', source: 'ref', query: { table: 't' } }] })).rows).toEqual([{ a: 1 }]);
    // Redis goes away: every connection through the proxy is cut, new ones are refused.
    await proxy.close();
    // The coordinator has noticed once a command fails at once (commands are not queued offline).
    for (let i = 0; i < 100; i++) {
      if (await executor.remoteMetrics().then(() => false, () => true)) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await settles(executor.close())).toBe(true);
    expect(await settles(worker.close())).toBe(true);
  });

  it('fails calls and remoteMetrics() with a retryable SOURCE_UNAVAILABLE, not a driver error', async () => {
    const proxy = await freezableProxy();
    const sources = { ref: memorySource({ tables: { t: [{ a: 1 }] } }) };
    const executor = createExecutor({ sources, cache: false, telemetry: false, retry: { attempts: 1 }, remote: { connection: proxy.url, queue } });
    try {
      await executor.remoteMetrics();
      await proxy.close();
      let error: unknown;
      for (let i = 0; i < 100 && error === undefined; i++) {
        error = await executor.remoteMetrics().then(() => undefined, (e: unknown) => e);
        if (error === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(error).toMatchObject({ name: 'TributaryError', code: 'SOURCE_UNAVAILABLE', retryable: true, message: expect.stringContaining(`the remote queue "${queue}"`) });
      const result = await executor.execute({ id: 'gone-call', fragments: [{ id: 'f', source: 'ref', query: { table: 't' } }] });
      expect(result.errors[0]).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true });
    } finally {
      expect(await settles(executor.close())).toBe(true);
    }
  });

  it('fails a call whose job is running when Redis goes away with a retryable SOURCE_UNAVAILABLE once connectTimeoutMs has passed, not at the attempt timeout', { timeout: 30_000 }, async () => {
    const proxy = await freezableProxy();
    const { source, calls } = hanging();
    const worker = createWorker({ sources: { h: source }, connection: proxy.url, queue: `${queue}-lost` });
    await worker.ready();
    // The attempt's own timeout is an hour: only the lane can end this call.
    const executor = createExecutor({ sources: { h: source }, cache: false, telemetry: false, retry: { attempts: 1 }, timeoutMs: 3_600_000, remote: { connection: proxy.url, queue: `${queue}-lost`, connectTimeoutMs: 200 } });
    try {
      const result = executor.execute({ id: 'lost', fragments: [{ id: 'f', source: 'h', query: { name: 'f' } }] });
      for (let i = 0; i < 500 && calls.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(calls).toEqual(['f']);
      await proxy.close();
      const outcome = await result;
      expect(outcome.errors[0]).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true, message: expect.stringContaining('lost its connection to Redis') });
    } finally {
      expect(await settles(executor.close())).toBe(true);
      expect(await settles(worker.close())).toBe(true);
      const q = new Queue(`${queue}-lost`, { connection: { url: REDIS_URL } });
      await q.obliterate({ force: true });
      await q.close();
    }
  });
});
