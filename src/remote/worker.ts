import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DelayedError, Worker, type Job, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { TributaryError } from '../errors.js';
import type { Row } from '../data/row.js';
import type { ExecuteContext, SourceExecutor } from '../sources/source.js';
import { LIMITS_COUNTED, type CountedBytes } from '../sources/call-limits.js';
import { REQUEST_TALLY, type RequestTally } from '../sources/request-tally.js';
import { jobRequests, type JobRequests } from './job-requests.js';
import { estimateRowsBytes } from '../data/bytes.js';
import { limitExceeded } from '../data/limits.js';
import { encodeRows, toRemoteFailure, type JobData, type JobResult } from './codec.js';
import { checkedPayload, jobSource } from './job-check.js';
import { scrubJob } from './job-scrub.js';
import { columnsOf, withColumns } from '../data/columns.js';
import { redisOptionsOf, remoteKeys, type RemoteConnection } from './connection.js';
import { budgetSpent, remainingBudgetMs } from './job-budget.js';
import { RedisClock } from './redis-clock.js';
import { asConnection, closeConnections } from './close-connections.js';
import { watchConnection } from './connection-watch.js';
import { SourceRoster } from './source-roster.js';
import { settledWithin } from './settled-within.js';
import { StatementReaper } from './statement-reaper.js';

/** How long closing waits for Redis to answer its connections' QUIT. */
const CLOSE_MS = 1000;
/** How long a job for a source this worker lacks waits, delayed, before a worker takes it again. */
const HAND_BACK_MS = 100;

/** Options of `createWorker`. */
export interface WorkerOptions {
  /** The sources this worker serves, by the names the coordinator's plans use. */
  sources: Record<string, SourceExecutor>;
  connection: RemoteConnection;
  queue: string;
  /** Jobs (source calls) this process runs at once. Default 1. */
  concurrency?: number;
  /** Names this worker in events and in BullMQ (`job.processedBy`). Default `<host>-<pid>-<random>`. */
  id?: string;
  /**
   * How long a job's lock lives without renewal (renewed every half of it). A worker that
   * dies is noticed about this long after, plus `stalledIntervalMs`. Default 5000.
   */
  lockDurationMs?: number;
  /** How often this worker looks for jobs whose worker died. Default 1000. */
  stalledIntervalMs?: number;
  /** How long stored rows wait for the coordinator to read them. Default 5 minutes. */
  resultTtlMs?: number;
  /** Largest Redis value for stored rows (gzipped); bigger results are split. Default 256 KiB. */
  chunkBytes?: number;
}

/** A running worker. */
export interface RemoteWorker {
  readonly id: string;
  /** Resolves once connected and taking jobs. */
  ready(): Promise<void>;
  /** Stops taking jobs, finishes the running ones, closes connections and sources; idempotent. */
  drain(): Promise<void>;
  /**
   * Aborts the running source calls (their jobs fail as retryable, so coordinators retry them
   * elsewhere), then closes like `drain()`; idempotent.
   */
  close(): Promise<void>;
}

/**
 * Serves a queue: each job is one source call, run with its own AbortController (aborted
 * when the coordinator publishes the job's id on the abort channel); the rows go back to
 * Redis gzipped, in chunks, with a TTL. Errors are classified here, where the driver's
 * error is, and travel as JSON in the job's failure reason.
 *
 * BullMQ's stalled-job check is set so that a job whose worker died fails (it is never run
 * twice behind tributary's back): the coordinator sees a retryable SOURCE_UNAVAILABLE and
 * its retry policy sends a new job, which any live worker takes.
 *
 * @example
 * const worker = createWorker({ sources: { crm: sqliteSource({ file }) }, connection: 'redis://127.0.0.1:6379', queue: 'tributary', concurrency: 4 });
 * drainOnSignal(worker);
 */
export function createWorker(options: WorkerOptions): RemoteWorker {
  const id = options.id ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const keys = remoteKeys(options.queue);
  const redis = redisOptionsOf(options.connection, 'connection', 'worker options');
  const ttl = options.resultTtlMs ?? 5 * 60_000;
  const chunkBytes = options.chunkBytes ?? 256 * 1024;
  const lockDuration = options.lockDurationMs ?? 5000;
  const running = new Map<string, AbortController>();
  const client = new Redis(redis);
  client.on('error', () => undefined);
  // A job's budget was stamped on Redis's clock by the coordinator: read it on the same clock.
  const clock = new RedisClock(client);
  const subscriber = new Redis({ ...redis, maxRetriesPerRequest: null });
  subscriber.on('error', () => undefined);
  const subscribed = subscriber.subscribe(keys.abortChannel, keys.reapChannel);
  subscriber.on('message', (channel: string, message: string) => {
    if (channel === keys.reapChannel) reaper.heard(message);
    else running.get(message)?.abort(new TributaryError('CANCELLED', `the coordinator cancelled job ${message}`));
  });

  // Without Redis for a lock's duration, the running jobs' locks have lapsed: they are failed as
  // stalled (and retried elsewhere) or lost with a Redis restarted empty, and the coordinator
  // has given up on them. Their calls are aborted, so the sources stop their statements on the
  // server rather than run them for results no one can read.
  const stopWatch = watchConnection(client, lockDuration, () => {
    for (const c of running.values()) c.abort(new TributaryError('SOURCE_UNAVAILABLE', `worker ${id} lost its connection to Redis for more than ${lockDuration} ms`, { retryable: true }));
  });

  // Tells the other workers which sources this one serves (see handing jobs back below).
  const roster = new SourceRoster(client, clock, options.queue, id, Object.keys(options.sources), 2 * lockDuration);
  void clock.measured().then(() => roster.renew()).catch(() => undefined);

  const processJob = async (job: Job<JobData, JobResult>, token?: string): Promise<JobResult> => {
    const jobId = job.id!;
    const controller = new AbortController();
    // Registered before the flag is read: an abort published from here on reaches it.
    running.set(jobId, controller);
    let source: SourceExecutor | undefined;
    let budgetTimer: ReturnType<typeof setTimeout> | undefined;
    // Set when the budget ran out mid-call: the job fails TIMEOUT whatever the source threw.
    let expired: TributaryError | undefined;
    // The call's values and statement, to mask the values out of a failure's reason (see toRemoteFailure).
    let call: { values: readonly unknown[]; query?: unknown } = { values: [] };
    // The requests of the call's fragment: the coordinator's cap, its count shared in Redis (job-requests.ts).
    let requests: JobRequests = jobRequests(client, keys.requests, jobId);
    try {
      if ((await client.exists(keys.aborted(jobId))) === 1) throw new TributaryError('CANCELLED', `job ${jobId} was cancelled before it started`);
      // A source this worker lacks that a live worker serves: the job goes back to the queue
      // (delayed a little, not failed, no attempt spent) for that worker to take.
      const named = job.data.source;
      if (typeof named === 'string' && !Object.hasOwn(options.sources, named) && (await roster.servedElsewhere(named))) {
        await job.moveToDelayed(Date.now() + HAND_BACK_MS, token);
        throw new DelayedError();
      }
      source = jobSource(options.sources, named, id);
      // Tells the coordinator who runs the job (a `fragment.remote` event) before the call.
      await job.updateProgress({ worker: id });
      const payload = checkedPayload(job.data.payload);
      const { query, params, principal, limits } = payload;
      call = { values: params, query };
      requests = jobRequests(client, keys.requests, jobId, payload);
      // The call's budget less its wait in the queue: a job that waited it all out is not run.
      if (payload.budgetMs !== undefined) await clock.measured();
      const budgetMs = remainingBudgetMs(payload, clock.now());
      if (budgetMs !== undefined && budgetMs <= 0) throw budgetSpent(jobId, payload.budgetMs!, 'queue');
      if (budgetMs !== undefined) {
        budgetTimer = setTimeout(() => {
          expired = budgetSpent(jobId, payload.budgetMs!, 'call');
          controller.abort(expired);
        }, budgetMs);
        budgetTimer.unref?.();
      }
      const signal = controller.signal;
      let counted: CountedBytes | undefined;
      const ctx: ExecuteContext & { [REQUEST_TALLY]: RequestTally; [LIMITS_COUNTED](c: CountedBytes): void } = {
        params,
        signal,
        fragmentId: job.data.fragmentId,
        // Found on the server by it if this worker dies mid-call (statement-reaper.ts).
        ...(source.stopTagged === undefined ? {} : { callTag: jobId }),
        ...(principal ? { principal } : {}),
        ...(limits ? { limits } : {}),
        ...(budgetMs !== undefined ? { budgetMs } : {}),
        [REQUEST_TALLY]: requests.tally,
        [LIMITS_COUNTED]: (c) => void (counted = c),
      };
      const out = await source.execute(query, ctx);
      const rows = await collect(out, signal);
      // A source that ignored its signal: rows that came after the budget are not sent.
      if (expired) throw expired;
      const bytes = bytesOf(rows, limits?.maxBytes, counted, { fragmentId: job.data.fragmentId, source: named });
      const chunks = encodeRows(rows, chunkBytes);
      if (chunks.length > 0) {
        const write = client.multi();
        chunks.forEach((chunk, n) => write.set(keys.result(jobId, n), chunk, 'PX', ttl));
        await write.exec();
      }
      const columns = columnsOf(rows);
      // What it reserved and did not send is given back before the job says it is done.
      const sent = await requests.settle();
      return { chunks: chunks.length, rows: rows.length, bytes: chunks.reduce((sum, c) => sum + c.length, 0), worker: id, ...(columns ? { columns } : {}), ...(bytes === undefined ? {} : { counted: bytes }), ...sent };
    } catch (error) {
      if (error instanceof DelayedError) throw error;
      const sent = await requests.settle();
      // The failed job BullMQ keeps holds no value or claim of the call.
      await scrubJob(job);
      throw new Error(JSON.stringify({ ...toRemoteFailure(expired ?? error, source, id, call.values, call.query), ...sent }));
    } finally {
      if (budgetTimer) clearTimeout(budgetTimer);
      running.delete(jobId);
    }
  };

  const worker = new Worker<JobData, JobResult>(options.queue, processJob, {
    connection: redis as ConnectionOptions,
    name: id,
    concurrency: options.concurrency ?? 1,
    // A job whose worker died fails instead of being run again by BullMQ: tributary's
    // retry policy (attempts, backoff, budget) decides about the next try.
    maxStalledCount: 0,
    stalledInterval: options.stalledIntervalMs ?? 1000,
    lockDuration,
  });
  worker.on('error', () => undefined);
  const reaper = new StatementReaper(client, keys, id, options.sources);
  // BullMQ fails a stalled job (its worker died, or hung past its lock) in the worker that
  // takes it next, which may not serve its source: the statement it left running is announced.
  worker.on('failed', (job) => {
    if (job !== undefined && typeof job.deferredFailure === 'string' && /stalled/i.test(job.deferredFailure)) reaper.announce(job);
  });
  // A lock this worker could not renew (its event loop was blocked past lockDurationMs, or
  // Redis lost the job): another worker has failed the job as stalled and the coordinator has
  // retried it elsewhere, so the call still running here is aborted — its statement stopped —
  // rather than run on, and its rows stored, for nobody.
  worker.on('lockRenewalFailed', (jobIds: string[]) => {
    for (const jobId of jobIds) running.get(jobId)?.abort(new TributaryError('SOURCE_UNAVAILABLE', `worker ${id} lost the lock of job ${jobId} (failed as stalled)`, { retryable: true }));
  });

  let closing: Promise<void> | undefined;
  const shutdown = (abortRunning: boolean): Promise<void> => {
    closing ??= (async () => {
      stopWatch();
      if (abortRunning) {
        for (const c of running.values()) c.abort(new TributaryError('SOURCE_UNAVAILABLE', `worker ${id} is shutting down`, { retryable: true }));
      }
      // Out of the roster before it stops taking jobs: jobs for its sources are no longer handed back for it.
      await settledWithin(roster.stop(), CLOSE_MS);
      // BullMQ's close stops fetching and waits for the running jobs — while Redis answers.
      // Without Redis (gone before, or lost during the wait) nothing a job does can be
      // reported: the worker is cut at once, never waiting for Redis to come back.
      const up = client.status === 'ready';
      const lost = new Promise<void>((resolve) => client.once('close', resolve));
      await Promise.race([worker.close(!up), lost]);
      await settledWithin(reaper.settled(), CLOSE_MS);
      const stillUp = client.status === 'ready';
      await closeConnections([worker, asConnection(subscriber), asConnection(client)], stillUp, CLOSE_MS);
      await Promise.allSettled(Object.values(options.sources).map((s) => s.close?.()));
    })();
    return closing;
  };

  return {
    id,
    ready: async () => {
      await worker.waitUntilReady();
      await subscribed;
      await clock.measured();
      // Entered in the roster (best effort: it renews itself while the worker lives).
      await roster.renew().catch(() => undefined);
    },
    drain: () => shutdown(false),
    close: () => shutdown(true),
  };
}

/**
 * The call's bytes under a byte bound, for the coordinator (which then estimates none): its
 * source's count (it bounded them as it fetched), else their estimate, held to the bound here.
 */
function bytesOf(rows: readonly Row[], maxBytes: number | undefined, counted: CountedBytes | undefined, subject: { fragmentId: string; source: string }): number | undefined {
  if (maxBytes === undefined) return undefined;
  if (counted !== undefined) return counted.bytes;
  const bytes = estimateRowsBytes(rows);
  if (bytes > maxBytes) throw limitExceeded(subject, `${bytes} bytes (estimated), more than maxBytes=${maxBytes}`);
  return bytes;
}

async function collect(out: Row[] | AsyncIterable<Row[]>, signal: AbortSignal): Promise<Row[]> {
  if (Array.isArray(out)) return out;
  const rows: Row[] = [];
  for await (const batch of out) {
    signal.throwIfAborted();
    // The first batch names the columns (a stream that yields no row still does).
    if (rows.length === 0) {
      const names = columnsOf(batch);
      if (names !== undefined) withColumns(rows, names);
    }
    for (const row of batch) rows.push(row);
  }
  return rows;
}

/**
 * On SIGTERM (and SIGINT) drains the worker, stops taking jobs, finishes the running ones,
 * then exits the process (code 0). Returns a function that removes the handlers.
 */
export function drainOnSignal(worker: RemoteWorker, signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'], exit: (code: number) => void = (code) => globalThis.process.exit(code)): () => void {
  const onSignal = (): void => {
    worker.drain().then(
      () => exit(0),
      () => exit(1),
    );
  };
  for (const s of signals) globalThis.process.once(s, onSignal);
  return () => {
    for (const s of signals) globalThis.process.off(s, onSignal);
  };
}
