import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, expect, it } from 'vitest';
import { createRemoteLane, createWorker, type RemoteLane, type RemoteWorker } from '../../src/index.js';
import { describeRedis, REDIS_URL } from '../support/redis.js';
import { fixtureSources } from './fixtures/sources.js';
import { spawnWorker, stopWorker, type WorkerProcess } from './fixtures/spawn.js';

/**
 * A worker whose event loop is blocked past its lock (a heavy transform, a sync driver call)
 * is taken for dead: another worker fails its job as stalled and the coordinator retries it.
 * When the blocked worker wakes, the call it still runs is for nobody: it must stop.
 */
describeRedis('a worker that stalled and came back', () => {
  const queue = `tributary-test-${randomUUID()}`;
  let stalled: WorkerProcess | undefined;
  let other: RemoteWorker | undefined;
  let lane: RemoteLane | undefined;

  afterAll(async () => {
    await lane?.close();
    await other?.close();
    await stopWorker(stalled);
    const q = new Queue(queue, { connection: { url: REDIS_URL } });
    await q.obliterate({ force: true });
    await q.close();
  });

  it('aborts the call whose lock it could not renew once it runs again', { timeout: 60_000 }, async () => {
    // Each call blocks the worker's event loop for 4 s (a 1 s lock), then waits 60 s (abortable).
    stalled = await spawnWorker({ QUEUE: queue, WORKER_ID: 'stalled', CONCURRENCY: '1', BURN_MS: '4000', DELAY_MS: '60000', LOCK_MS: '1000', TRIBUTARY_REDIS_URL: REDIS_URL });
    lane = createRemoteLane({ connection: REDIS_URL, queue });
    const started: string[] = [];
    const call = lane.call({ source: 'ref', fragmentId: 'f', payload: { query: { table: 'items', where: { eq: ['bucket', 1] } }, params: [] } }, new AbortController().signal, (info) => started.push(info.worker));
    call.catch(() => undefined);
    // Another worker, started once the stalled one has the job: it runs the stalled-job check.
    const q = new Queue(queue, { connection: { url: REDIS_URL } });
    try {
      for (let i = 0; i < 500 && (await q.getActiveCount()) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await q.getActiveCount()).toBe(1);
    } finally {
      await q.close();
    }
    other = createWorker({ sources: fixtureSources(), connection: REDIS_URL, queue, id: 'other', lockDurationMs: 1000, stalledIntervalMs: 250 });
    await other.ready();

    await expect(call).rejects.toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true, message: expect.stringMatching(/stalled/) });
    expect(started).toEqual(['stalled']);
    // Awake again, the stalled worker's lock renewal fails: its call is aborted, not run for 60 s.
    await stalled.waitFor(/^aborted f$/, 15_000);
  });
});
