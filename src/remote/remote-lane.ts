import { randomUUID } from 'node:crypto';
import { Queue, type QueueEvents, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { TributaryError } from '../errors.js';
import type { Row } from '../data/row.js';
import { RedisClock } from './redis-clock.js';
import { encodePayload, type CallPayload, type RemoteCounts } from './codec.js';
import { countsOf, jobFailure } from './job-failure.js';
import { listenJobEvents, type Abandoned, type Waiter } from './job-events.js';
import { reclaimJobRequests } from './job-requests.js';
import { TallyKeys } from './tally-keys.js';
import { readJobRows } from './job-rows.js';
import { settledWithin } from './settled-within.js';
import { asConnection, closeConnections } from './close-connections.js';
import { queueMetrics, type RemoteMetrics } from './queue-metrics.js';
import { watchConnection } from './connection-watch.js';
import { describeConnection, redisOptionsOf, remoteKeys, type RemoteConnection } from './connection.js';

export type { RemoteMetrics, RemoteCounts };

/** Options of a remote lane (the coordinator's side of a queue). */
export interface RemoteLaneOptions {
  /** The queue's Redis: a URL or ioredis options. */
  connection: RemoteConnection;
  /** The BullMQ queue name; workers serving it must use the same. */
  queue: string;
  /**
   * Longest wait for one job, on top of tributary's own per-attempt timeout (which already
   * aborts the job). Default: none.
   */
  timeoutMs?: number;
  /** How long to wait for Redis before failing a call with SOURCE_UNAVAILABLE. Default 2000. */
  connectTimeoutMs?: number;
}

/** What one job produced, as seen by the coordinator. */
export interface RemoteOutcome {
  rows: Row[];
  worker: string;
}

/** The coordinator's side of one queue, shared by every remote source on it. */
export interface RemoteLane {
  readonly queue: string;
  /**
   * Runs one call as one job and resolves with its rows. `onJob` hears which worker ran it
   * (on success and on failure); `onCounts`, once per job and before the call settles, what
   * the worker counted (the requests it sent, its rows' bytes; nothing for a job never run).
   * Rejects with `signal.reason` at once when the signal aborts: a waiting job is removed, a
   * running one is told to abort (`onCounts` still hears what it sent, once its worker has
   * ended it). `requestsSent`, when given, is read as the job is queued for `payload.requests`.
   */
  call(data: { source: string; fragmentId: string; payload: CallPayload; requestsSent?: () => number }, signal: AbortSignal, onJob?: (info: { worker: string; jobId: string }) => void, onCounts?: (counts: RemoteCounts) => void): Promise<Row[]>;
  metrics(): Promise<RemoteMetrics>;
  /** Closes the queue's connections; idempotent. */
  close(): Promise<void>;
}

const DISCONNECT_MS = 200;
// How long close() waits for the cancels of the jobs it gives up to reach Redis (then for the QUIT).
const CLOSE_CANCEL_MS = 1000;

/**
 * Creates the coordinator's side of a queue. Connections open lazily on the first call;
 * while Redis cannot be reached each call fails within `connectTimeoutMs` with a retryable
 * SOURCE_UNAVAILABLE (commands are never queued offline, so nothing hangs).
 */
export function createRemoteLane(options: RemoteLaneOptions): RemoteLane {
  const { queue: name } = options;
  const connectTimeoutMs = options.connectTimeoutMs ?? 2000;
  const keys = remoteKeys(name);
  const where = describeConnection(options.connection);
  // disconnectTimeout: a socket still connecting when the lane closes (Redis down) is
  // destroyed after this long rather than ioredis's 2 s, which would hold the process.
  const base = { ...redisOptionsOf(options.connection), connectTimeout: connectTimeoutMs, disconnectTimeout: DISCONNECT_MS, retryStrategy: (times: number) => Math.min(100 * times, 1000) };
  const waiters = new Map<string, Waiter>();
  // The fragments' request counts in Redis that jobs are out for (tally-keys.ts).
  const tallies = new TallyKeys((tally) => client?.del(keys.requests(tally)) ?? Promise.resolve());
  // Jobs given up on (aborted), heard to their end (job-events.ts).
  const abandoned = new Map<string, Abandoned>();
  // Which worker took each job (its first progress report): a job whose worker died is
  // failed by another worker, so the failure itself cannot name the one that died.
  const startedBy = new Map<string, string>();
  let queue: Queue | undefined;
  let events: QueueEvents | undefined;
  // Rows, abort flags and messages: commands fail at once while disconnected, never queue up.
  let client: Redis | undefined;
  let ready: Promise<{ queue: Queue; client: Redis }> | undefined;
  let closed = false;
  let stopWatch: (() => void) | undefined;
  // Budgets are stamped on Redis's clock, which the workers read too (redis-clock.ts).
  const clock = new RedisClock({ time: () => (client ? client.time() : Promise.reject(new Error('not connected'))) });

  const unavailable = (why: string, cause?: unknown): TributaryError =>
    new TributaryError('SOURCE_UNAVAILABLE', `the remote queue "${name}" at Redis ${where} is unavailable: ${why}`, { retryable: true, cause });

  // Waits for Redis still under way: close() ends them, so no connect timer outlives it.
  const connecting = new Set<() => void>();
  const withTimeout = <T>(p: Promise<T>, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const end = (): void => {
        clearTimeout(timer);
        connecting.delete(stop);
      };
      const stop = (): void => {
        end();
        reject(new TributaryError('CLOSED', `the remote queue "${name}" was closed while waiting for Redis (${what})`));
      };
      const timer = setTimeout(() => (end(), reject(unavailable(`no connection within ${connectTimeoutMs} ms (${what})`))), connectTimeoutMs);
      connecting.add(stop);
      p.then(
        (v) => (end(), resolve(v)),
        (e: unknown) => (end(), reject(e instanceof TributaryError ? e : unavailable(e instanceof Error ? e.message : String(e), e))),
      );
    });

  const open = async (): Promise<{ queue: Queue; client: Redis }> => {
    if (!queue) {
      queue = new Queue(name, { connection: { ...base, enableOfflineQueue: false, maxRetriesPerRequest: 1 } as ConnectionOptions });
      queue.on('error', () => undefined);
      client = new Redis({ ...base, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      client.on('error', () => undefined);
      // Redis gone for connectTimeoutMs while jobs run: their calls fail (retryable), as a connect would.
      stopWatch = watchConnection(client, connectTimeoutMs, () => {
        for (const w of [...waiters.values()]) w.reject(unavailable(`the coordinator lost its connection to Redis for more than ${connectTimeoutMs} ms while the job ran`));
      });
    }
    const c = client!;
    await withTimeout(Promise.all([queue.waitUntilReady(), c.status === 'ready' ? undefined : new Promise((resolve) => c.once('ready', resolve))]), 'queue');
    await withTimeout(clock.sync(), 'TIME');
    if (!events) {
      // Read the events stream from Redis's own clock (job-events.ts).
      const [seconds, micros] = await withTimeout(c.time(), 'TIME');
      events = listenJobEvents(name, base as ConnectionOptions, Number(seconds) * 1000 + Math.floor(Number(micros) / 1000), { waiters, abandoned, client: c, keys });
      await withTimeout(events.waitUntilReady(), 'events');
    }
    return { queue, client: c };
  };

  const connect = (): Promise<{ queue: Queue; client: Redis }> => {
    if (closed) return Promise.reject(new TributaryError('CLOSED', `the remote queue "${name}" is closed`));
    ready ??= open();
    // A failed connect is forgotten, so the next call (a retry) tries again.
    ready.catch(() => (ready = undefined));
    return ready;
  };

  // Cancels under way: close() lets them reach Redis before it quits the client.
  const cancelling = new Set<Promise<void>>();
  const cancel = (q: Queue, client: Redis, jobId: string, onCounts?: (counts: RemoteCounts) => void, reclaim?: () => Promise<number>): void => {
    abandoned.set(jobId, { onCounts, reclaim });
    const p = cancelJob(q, client, jobId).catch(() => undefined);
    cancelling.add(p);
    void p.finally(() => cancelling.delete(p));
  };

  const cancelJob = async (q: Queue, client: Redis, jobId: string): Promise<void> => {
    // The flag first: a worker that takes the job after this sees it before calling the source.
    await client.set(keys.aborted(jobId), '1', 'PX', 60_000);
    await client.publish(keys.abortChannel, jobId);
    // A job still waiting (or delayed) goes at once; an active one is locked and stays until
    // its worker has aborted the call.
    await q.remove(jobId).catch(() => undefined);
  };

  const call: RemoteLane['call'] = async (data, signal, onJob, onCounted) => {
    signal.throwIfAborted();
    const { queue: q, client } = await connect();
    // The job is out for its fragment's request count (job-requests.ts) until its counts are in:
    // the last job out deletes the count, and a delete under way lands before this job is queued.
    const cap = data.payload.requestCap;
    const { landed, counted: onCounts } = tallies.job(cap?.tally, onCounted, cap !== undefined && !Number.isFinite(cap.max));
    if (landed) await landed;
    if (signal.aborted) onCounts({});
    signal.throwIfAborted();
    // The budget's start (this process's clock) goes on Redis's, which the worker reads too. What the fragment
    // sent is read now, with every report a delete of its count waited for. Encoded before anything waits for
    // the job: a payload that cannot be (CONFIG_INVALID) is never queued.
    const { sentAt } = data.payload;
    const requests = data.requestsSent?.() ?? data.payload.requests;
    let payload: string;
    try {
      payload = encodePayload({ ...data.payload, ...(sentAt === undefined ? {} : { sentAt: clock.fromLocal(sentAt) }), ...(requests ? { requests } : {}) });
    } catch (error) {
      onCounts({});
      throw error;
    }
    const jobId = randomUUID();
    // A job its worker never ends (it died) is ended in its fragment's count here, which says what it sent.
    const tally = data.payload.requestCap?.tally;
    const reclaim = tally === undefined ? undefined : () => reclaimJobRequests(client, keys.requests(tally), jobId);
    return new Promise<Row[]>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let reported = false;
      const report = (worker: string | undefined): void => {
        if (reported || worker === undefined) return;
        reported = true;
        onJob?.({ worker, jobId });
      };
      const settle = (): void => {
        waiters.delete(jobId);
        startedBy.delete(jobId);
        signal.removeEventListener('abort', onAbort);
        if (timer) clearTimeout(timer);
      };
      const giveUp = (error: unknown): void => {
        settle();
        reject(error);
        cancel(q, client, jobId, onCounts, reclaim);
      };
      const onAbort = (): void => giveUp(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => giveUp(new TributaryError('TIMEOUT', `job ${jobId} on queue "${name}" took longer than ${options.timeoutMs} ms`)), options.timeoutMs);
      }
      waiters.set(jobId, {
        started: (worker) => {
          startedBy.set(jobId, worker);
          report(worker);
        },
        completed: (result) => {
          settle();
          report(typeof result?.worker === 'string' ? result.worker : undefined);
          // Rows it cannot read (expired, undecodable) still cost the requests its worker sent.
          readJobRows(client, keys, jobId, result, unavailable, data.payload.limits?.maxBytes).then((rows) => (onCounts({ ...countsOf(result), bytes: result.counted }), resolve(rows)), (error: unknown) => (onCounts(countsOf(result)), reject(error)));
        },
        failed: (reason) => {
          jobFailure(q, name, jobId, reason, startedBy.get(jobId), reclaim).then(({ error, worker, counts }) => {
            settle();
            report(worker);
            onCounts(counts);
            reject(error);
          }, (error: unknown) => {
            settle();
            onCounts({});
            reject(error);
          });
        },
        reject: giveUp,
      });
      q.add('fragment', { source: data.source, fragmentId: data.fragmentId, payload }, {
        jobId,
        // One job is one attempt: tributary's own retry policy decides about another.
        attempts: 1,
        removeOnComplete: true,
        removeOnFail: { age: 3600, count: 1000 },
      }).catch((error: unknown) => {
        settle();
        onCounts({});
        reject(unavailable(`adding the job failed: ${error instanceof Error ? error.message : String(error)}`, error));
      });
    });
  };

  const metrics = async (): Promise<RemoteMetrics> => queueMetrics((await connect()).queue, unavailable);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      closed = true;
      stopWatch?.();
      for (const stop of [...connecting]) stop();
      for (const [jobId, waiter] of waiters) waiter.reject(new TributaryError('CANCELLED', `the remote queue "${name}" was closed while job ${jobId} was running`));
      // A running job stops only when its worker hears the abort: the flag and the message
      // must be sent before the client quits (bounded: Redis may be what is failing).
      if (cancelling.size > 0) await settledWithin(Promise.allSettled(cancelling), CLOSE_CANCEL_MS);
      await settledWithin(tallies.close(), CLOSE_CANCEL_MS);
      await closeConnections([events, queue, client && asConnection(client)], client?.status === 'ready', CLOSE_CANCEL_MS);
    })();
    return closing;
  };

  return { queue: name, call, metrics, close };
}
