import { QueueEvents, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobResult, RemoteCounts } from './codec.js';
import { countsOf, failedJobCounts } from './job-failure.js';
import { dropChunks } from './job-rows.js';
import type { remoteKeys } from './connection.js';

/** A call waiting for its job (remote-lane.ts). */
export interface Waiter {
  started(worker: string): void;
  completed(result: JobResult): void;
  failed(reason: string): void;
  /** Gives the job up: rejects the call with `error` and cancels the job. */
  reject(error: unknown): void;
}

/**
 * A job given up on (aborted): what its call hears of the requests it still sends (a hedge's
 * loser, a timed-out call), and how its fragment's count tells them if its worker dies.
 */
export interface Abandoned {
  onCounts: ((counts: RemoteCounts) => void) | undefined;
  reclaim: (() => Promise<number>) | undefined;
}

/**
 * The queue's job events, read from Redis's clock at `fromMs` (nothing completed after that
 * instant is missed, whenever the blocking read starts), passed on to the call waiting for
 * each job. A job given up on is heard to its end: if it still completes, its stored rows are
 * deleted at once; its counts (nothing for one removed before a worker took it, what its
 * worker sent or its fragment's count reclaims for one that failed) go to its `onCounts`.
 */
export function listenJobEvents(
  queue: string,
  connection: ConnectionOptions,
  fromMs: number,
  jobs: { waiters: ReadonlyMap<string, Waiter>; abandoned: Map<string, Abandoned>; client: Redis; keys: ReturnType<typeof remoteKeys> },
): QueueEvents {
  const { waiters, abandoned, client, keys } = jobs;
  const events = new QueueEvents(queue, { connection, lastEventId: `${fromMs}-0` });
  events.on('error', () => undefined);
  // BullMQ types a job's return value as a string; a worker's job returns its JobResult (worker.ts).
  events.on('completed', ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }) => {
    const result = returnvalue as JobResult;
    const waiter = waiters.get(jobId);
    const late = abandoned.get(jobId);
    if (waiter) waiter.completed(result);
    else if (abandoned.delete(jobId)) {
      late?.onCounts?.(countsOf(result));
      if (result?.chunks > 0) void dropChunks(client, keys, jobId, result.chunks);
    }
  });
  events.on('progress', ({ jobId, data }) => {
    const worker = (data as { worker?: unknown } | null)?.worker;
    if (typeof worker === 'string') waiters.get(jobId)?.started(worker);
  });
  // A job given up on and removed before a worker took it: it sent nothing.
  events.on('removed', ({ jobId }) => (abandoned.get(jobId)?.onCounts?.({}), abandoned.delete(jobId)));
  events.on('failed', ({ jobId, failedReason }) => {
    waiters.get(jobId)?.failed(failedReason);
    const late = abandoned.get(jobId);
    if (late && abandoned.delete(jobId)) void failedJobCounts(failedReason, late.reclaim).then((counts) => late.onCounts?.(counts));
  });
  return events;
}
