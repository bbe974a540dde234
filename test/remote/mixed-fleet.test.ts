import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { z } from 'zod';
import { afterEach, expect, it } from 'vitest';
import { createRemoteLane, createWorker, memorySource, type RemoteWorker, type Row, type SourceExecutor } from '../../src/index.js';
import { describeRedis, dropKeys, REDIS_URL } from '../support/redis.js';
import { eventually } from '../support/servers.js';

/** A source whose calls wait until `release()`; `started` resolves once one has begun. */
function gate(): { source: SourceExecutor<{ tag: string }>; started: Promise<void>; release(): void; served: string[] } {
  let release!: () => void;
  let begun!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const started = new Promise<void>((resolve) => (begun = resolve));
  const served: string[] = [];
  return {
    served,
    started,
    release,
    source: {
      kind: 'gate',
      querySchema: z.strictObject({ tag: z.string() }),
      execute: async (query) => {
        served.push(query.tag);
        begun();
        await released;
        return [{ tag: query.tag }] as Row[];
      },
    },
  };
}

/**
 * Workers of one queue that serve different sources (a rolling deploy adding a source, a
 * fleet split by data): a job for a source its worker lacks must reach a worker that has it,
 * and fail SOURCE_UNKNOWN only when no live worker does.
 */
describeRedis('a queue whose workers serve different sources', () => {
  const queue = `tributary-test-${randomUUID()}`;
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
    const q = new Queue(queue, { connection: { url: REDIS_URL } });
    await q.obliterate({ force: true });
    await q.close();
    await dropKeys(`tributary:${queue}:`);
  });

  const start = async (sources: Record<string, SourceExecutor>, id: string): Promise<RemoteWorker> => {
    const worker = createWorker({ sources, connection: REDIS_URL, queue, id, concurrency: 1, lockDurationMs: 1000 });
    cleanup.push(() => worker.close());
    await worker.ready();
    return worker;
  };

  it('hands a job for a source its worker lacks back to the queue, where a worker that has it runs it', { timeout: 30_000 }, async () => {
    const g = gate();
    await start({ g: g.source }, 'has-g');
    await start({ other: memorySource({ tables: { t: [] } }) }, 'lacks-g');
    const lane = createRemoteLane({ connection: REDIS_URL, queue });
    cleanup.push(() => lane.close());
    const q = new Queue(queue, { connection: { url: REDIS_URL } });
    cleanup.push(() => q.close());
    const handedBack = (): Promise<number> => q.getDelayedCount();
    const call = (tag: string): Promise<Row[]> => lane.call({ source: 'g', fragmentId: tag, payload: { query: { tag }, params: [] } }, new AbortController().signal);

    // The worker with g is busy (concurrency 1): only the one without g is free to take the next job.
    const first = call('first');
    await g.started;
    const ran: string[] = [];
    const second = lane.call({ source: 'g', fragmentId: 'second', payload: { query: { tag: 'second' }, params: [] } }, new AbortController().signal, (info) => ran.push(info.worker));
    // Taken by the free worker without g, handed back while the one with g is busy.
    expect(await eventually(async () => (await handedBack()) > 0, 10_000, 20)).toBe(true);
    g.release();
    expect(await first).toEqual([{ tag: 'first' }]);
    expect(await second).toEqual([{ tag: 'second' }]);
    expect(ran).toEqual(['has-g']);
    expect(g.served).toEqual(['first', 'second']);
  });

  it('fails SOURCE_UNKNOWN, not retried, when no live worker serves the source (one that closed no longer counts)', { timeout: 30_000 }, async () => {
    const g = gate();
    g.release();
    const serving = await start({ g: g.source }, 'had-g');
    await start({ other: memorySource({ tables: { t: [] } }) }, 'never-g');
    await serving.close();
    const lane = createRemoteLane({ connection: REDIS_URL, queue });
    cleanup.push(() => lane.close());
    await expect(lane.call({ source: 'g', fragmentId: 'f', payload: { query: { tag: 'f' }, params: [] } }, new AbortController().signal)).rejects.toMatchObject({
      code: 'SOURCE_UNKNOWN',
      retryable: false,
      message: expect.stringContaining('worker never-g has no source named "g"'),
    });
    expect(g.served).toEqual([]);
  });
});
