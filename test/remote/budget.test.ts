import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, createRemoteLane, createWorker, TributaryError, type RemoteLane, type RemoteWorker, type SourceExecutor } from '../../src/index.js';
import { remainingBudgetMs } from '../../src/remote/job-budget.js';
import { describeRedis, REDIS_URL } from '../support/redis.js';

interface Seen {
  tag: string;
  budgetMs: number | undefined;
  aborted: boolean;
}

/** Records each call's budget; sleeps `sleepMs` (abortable), reporting when it started. */
function recordingSource(seen: Seen[], started: (tag: string) => void = () => undefined): SourceExecutor<{ tag: string; sleepMs?: number }> {
  return {
    kind: 'recording',
    querySchema: z.strictObject({ tag: z.string(), sleepMs: z.number().optional() }),
    execute: async (query, ctx) => {
      const call: Seen = { tag: query.tag, budgetMs: ctx.budgetMs, aborted: false };
      seen.push(call);
      started(query.tag);
      if (query.sleepMs) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, query.sleepMs);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            call.aborted = true;
            reject(ctx.signal.reason);
          });
        });
      }
      return [{ tag: query.tag }];
    },
  };
}

describeRedis('a call budget on BullMQ workers', () => {
  const queue = `tributary-test-${randomUUID()}`;
  const seen: Seen[] = [];
  let onStart: (tag: string) => void = () => undefined;
  let worker: RemoteWorker;
  let lane: RemoteLane;

  beforeAll(async () => {
    // One job at a time: a second job waits in the queue while the first runs.
    worker = createWorker({ sources: { rec: recordingSource(seen, (tag) => onStart(tag)) }, connection: REDIS_URL, queue, concurrency: 1 });
    await worker.ready();
    lane = createRemoteLane({ connection: REDIS_URL, queue });
  });

  afterAll(async () => {
    await lane.close();
    await worker.close();
    const q = new Queue(queue, { connection: { url: REDIS_URL } });
    await q.obliterate({ force: true });
    await q.close();
  });

  /** Starts a call that holds the worker's only slot for `ms`; resolves once it runs. */
  const occupy = async (tag: string, ms: number): Promise<{ done: Promise<unknown> }> => {
    const running = new Promise<void>((resolve) => (onStart = (t) => t === tag && resolve()));
    const done = lane.call({ source: 'rec', fragmentId: tag, payload: { query: { tag, sleepMs: ms }, params: [] } }, new AbortController().signal);
    await running;
    // Wrapped: an async function returning the promise itself would wait for it.
    return { done };
  };

  it("hands the worker's source the query deadline's budget, no more", async () => {
    const executor = createExecutor({ sources: { rec: recordingSource([]) }, cache: false, telemetry: false, remote: { connection: REDIS_URL, queue } });
    try {
      const result = await executor.execute({ id: 'budget', fragments: [{ id: 'a', source: 'rec', query: { tag: 'via-executor' } }] }, { deadlineMs: 5000 });
      expect(result.status).toBe('ok');
      expect(result.rows).toEqual([{ tag: 'via-executor' }]);
    } finally {
      await executor.close();
    }
    const call = seen.find((s) => s.tag === 'via-executor');
    expect(call?.budgetMs).toBeGreaterThan(0);
    expect(call?.budgetMs).toBeLessThanOrEqual(5000);
  });

  it('takes the time a job waited in the queue off its budget', async () => {
    const blocker = await occupy('blocker-1', 800);
    const rows = await lane.call({ source: 'rec', fragmentId: 'w', payload: { query: { tag: 'waited' }, params: [], budgetMs: 10_000, sentAt: Date.now() } }, new AbortController().signal);
    await blocker.done;
    expect(rows).toEqual([{ tag: 'waited' }]);
    const call = seen.find((s) => s.tag === 'waited');
    // It waited (at least most of) the blocker's 800 ms.
    expect(call?.budgetMs).toBeGreaterThan(0);
    expect(call?.budgetMs).toBeLessThanOrEqual(10_000 - 500);
  });

  it('does not run a job that waited longer than its budget: it fails TIMEOUT', async () => {
    const blocker = await occupy('blocker-2', 800);
    const late = lane.call({ source: 'rec', fragmentId: 'l', payload: { query: { tag: 'late' }, params: [], budgetMs: 200, sentAt: Date.now() } }, new AbortController().signal);
    await expect(late).rejects.toMatchObject({ code: 'TIMEOUT', retryable: true, message: expect.stringMatching(/waited in the queue/) });
    await blocker.done;
    expect(seen.some((s) => s.tag === 'late')).toBe(false);
  });

  it('aborts the worker-side call when its budget runs out mid-call', async () => {
    const call = lane.call({ source: 'rec', fragmentId: 's', payload: { query: { tag: 'slow', sleepMs: 30_000 }, params: [], budgetMs: 300, sentAt: Date.now() } }, new AbortController().signal);
    const error: unknown = await call.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TributaryError);
    expect(error).toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/while its source ran/) });
    expect(seen.find((s) => s.tag === 'slow')?.aborted).toBe(true);
  });
});

describe('remainingBudgetMs: the budget a worker hands its source', () => {
  it('is the budget less the time since the call was sent', () => {
    expect(remainingBudgetMs({ budgetMs: 1000, sentAt: 5000 }, 5300)).toBe(700);
    expect(remainingBudgetMs({ budgetMs: 1000, sentAt: 5000 }, 6500)).toBe(-500);
  });

  it('counts no wait when the worker clock is behind the coordinator’s, and is undefined without a budget', () => {
    expect(remainingBudgetMs({ budgetMs: 1000, sentAt: 5000 }, 4000)).toBe(1000);
    expect(remainingBudgetMs({ budgetMs: 1000 }, 4000)).toBe(1000);
    expect(remainingBudgetMs({}, 4000)).toBeUndefined();
    expect(remainingBudgetMs({ budgetMs: Infinity, sentAt: 1 }, 4000)).toBeUndefined();
  });
});
