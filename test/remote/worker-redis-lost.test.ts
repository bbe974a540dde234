import { afterEach, expect, it } from 'vitest';
import { createRemoteLane, createWorker, type RemoteLane, type RemoteWorker } from '../../src/index.js';
import { describeRedis, privateRedis } from '../support/redis.js';
import { hanging, settles } from '../support/hanging-source.js';
import { eventually } from '../support/servers.js';

/**
 * The worker loses Redis (its own redis-server here, killed: nothing is restarted) while a
 * call runs. The job's lock lapses and nobody can read its result any more, so the call is
 * aborted — the source stops its statement on the server — instead of running on.
 */
describeRedis('a worker that loses Redis mid-call', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('aborts its running calls with a retryable SOURCE_UNAVAILABLE once Redis has been gone for a lock duration', { timeout: 30_000 }, async () => {
    const redis = await privateRedis();
    cleanup.push(() => redis.kill());
    const { source, calls, aborts } = hanging();
    const worker: RemoteWorker = createWorker({ sources: { h: source }, connection: redis.url, queue: 'lost', lockDurationMs: 500 });
    cleanup.push(() => worker.close());
    await worker.ready();
    const lane: RemoteLane = createRemoteLane({ connection: redis.url, queue: 'lost', connectTimeoutMs: 300 });
    cleanup.push(() => lane.close());
    const call = lane.call({ source: 'h', fragmentId: 'f', payload: { query: { name: 'f' }, params: [] } }, new AbortController().signal);
    call.catch(() => undefined);
    expect(await eventually(async () => calls.length === 1, 10_000, 10)).toBe(true);
    expect(aborts).toEqual([]);

    await redis.kill();
    await expect(call).rejects.toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true });
    expect(await eventually(async () => aborts.length === 1, 10_000, 20)).toBe(true);
    expect(aborts[0]).toMatchObject({ name: 'f', reason: { code: 'SOURCE_UNAVAILABLE', retryable: true, message: expect.stringMatching(/lost its connection to Redis for more than 500 ms/) } });
    expect(await settles(worker.close())).toBe(true);
  });
});
