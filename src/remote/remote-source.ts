import { randomUUID } from 'node:crypto';
import { TributaryError } from '../errors.js';
import { defaultIsRetryable, type Principal, type SourceExecutor } from '../sources/source.js';
import { reportCounted } from '../sources/call-limits.js';
import { requestCapOf, requestTallyOf, type RequestTally } from '../sources/request-tally.js';
import { createRemoteLane, type RemoteLane, type RemoteLaneOptions } from './remote-lane.js';
import { settledWithin } from './settled-within.js';
import { chunkKindsOf } from './chunk-kinds.js';

/** Marks errors that came back from a worker: their `retryable` was decided there. */
const remoteErrors = new WeakSet<object>();

/** Names each fragment's tally (one per fragment and run) for its count in Redis. */
const tallyNames = new WeakMap<RequestTally, string>();
/** How long `close()` waits for the statements of given-up jobs to be stopped before it closes the inner source. */
const CLOSE_STOP_MS = 1000;

const tallyName = (tally: RequestTally): string => {
  let name = tallyNames.get(tally);
  if (name === undefined) tallyNames.set(tally, (name = randomUUID()));
  return name;
};

/**
 * Wraps a source so that each call runs as one BullMQ job on a worker (`createWorker`)
 * that has a source of the same name. Everything else (kind, query schema, lane size,
 * cache scope, version) is the inner source's, so validation, caching, limits and events
 * behave as in-process; the inner source itself runs no call (it only stops given-up jobs'
 * statements, below, and is closed).
 *
 * Pass a lane to share one queue's connections between sources; given options, the source
 * opens its own and closes them in `close()`.
 *
 * What the worker counted comes back with the rows: its rows' bytes (the coordinator does not
 * estimate them again) and the requests it sent, added to its fragment's request tally, whose
 * count so far the job carries. A source with a cap on its fragments' requests (`httpSource`'s
 * `maxRequests`) sends that cap with every job, and the name of the fragment's count in Redis,
 * which the jobs of the fragment reserve from together (job-requests.ts): the cap bounds the
 * fragment, not the job, and is this process's — or the worker's own where that is smaller,
 * which then bounds the fragment too, even under a cap lifted here.
 *
 * A call aborted (cancel, timeout, fail-fast, `close()`) once its job runs also stops the
 * job's statement from here, when the inner source can (`stopTagged`: MariaDB): the worker
 * tags it with the job id, so this process finds it on the server as a live worker's reaper
 * does, without waiting for a dead worker's job to be failed as stalled. A live worker stops
 * it too when it hears the abort; the statement is stopped by its query id, so the second
 * stop finds nothing.
 *
 * @example
 * const lane = createRemoteLane({ connection: 'redis://127.0.0.1:6379', queue: 'tributary' });
 * const executor = createExecutor({ sources: { crm: remoteSource('crm', sqliteSource({ file }), lane) } });
 */
export function remoteSource<Q>(name: string, inner: SourceExecutor<Q>, lane: RemoteLane | RemoteLaneOptions): SourceExecutor<Q> {
  const owned = 'call' in lane ? undefined : createRemoteLane(lane);
  const target = owned ?? (lane as RemoteLane);
  const maxRequests = requestCapOf(inner);
  // The stops of given-up jobs' statements under way: close() lets them finish first.
  const stopping = new Set<Promise<unknown>>();
  const stopStatement = (jobId: string, principal: Principal | undefined): void => {
    const p = inner.stopTagged!(jobId, principal ? { principal } : {}).catch(() => undefined);
    stopping.add(p);
    void p.finally(() => stopping.delete(p));
  };
  const wrapped: SourceExecutor<Q> = {
    kind: inner.kind,
    querySchema: inner.querySchema,
    execute: (query, ctx) => {
      const tally = requestTallyOf(ctx);
      // The job, once a worker has taken it: a statement of it may be running on the server.
      let taken: string | undefined;
      const chunkKinds = chunkKindsOf(ctx.params);
      const onRemote = (info: { worker: string; jobId: string }): void => {
        taken = info.jobId;
        ctx.onRemote?.(info);
      };
      return target
        .call(
          // What the fragment sent, read again when the job is queued (a report may come in meanwhile).
          { source: name, fragmentId: ctx.fragmentId ?? '?', requestsSent: () => tally.requests, payload: {
              query,
              params: ctx.params,
              ...(ctx.principal ? { principal: ctx.principal } : {}),
              ...(ctx.limits ? { limits: ctx.limits } : {}),
              // The budget travels with the time it was counted from: the worker takes off
              // what the job spent waiting in the queue.
              ...(ctx.budgetMs !== undefined && Number.isFinite(ctx.budgetMs) ? { budgetMs: ctx.budgetMs, sentAt: Date.now() } : {}),
              ...(tally.requests > 0 ? { requests: tally.requests } : {}),
              // Lifted here (Infinity), the count is made only by a worker whose own cap is finite.
              ...(maxRequests === undefined ? {} : { requestCap: { max: maxRequests, tally: tallyName(tally) } }),
              // How its chunks go: their link to the whole list stays in this process.
              ...(chunkKinds ? { chunkKinds } : {}),
            },
          },
          ctx.signal,
          onRemote,
          ({ requests, bytes }) => {
            if (requests !== undefined) tally.requests += requests;
            if (bytes !== undefined) reportCounted(ctx, { bytes });
          },
        )
        .catch((error: unknown) => {
          // Given up while its worker ran it: that worker may be dead, its statement running on.
          if (ctx.signal.aborted && taken !== undefined && inner.stopTagged !== undefined) stopStatement(taken, ctx.principal);
          if (error instanceof TributaryError && error.retryable !== undefined) remoteErrors.add(error);
          throw error;
        });
    },
    isRetryable: (error) => {
      if (typeof error === 'object' && error !== null && remoteErrors.has(error)) return (error as TributaryError).retryable === true;
      return inner.isRetryable ? inner.isRetryable(error) : defaultIsRetryable(error);
    },
    close: async () => {
      if (stopping.size > 0) await settledWithin(Promise.allSettled([...stopping]), CLOSE_STOP_MS);
      await Promise.allSettled([owned?.close(), inner.close?.()]);
    },
  };
  if (inner.maxConcurrency !== undefined) wrapped.maxConcurrency = inner.maxConcurrency;
  // Its bounds, and the default, are the coordinator's: the job carries them (ctx.limits).
  if (inner.limits !== undefined) wrapped.limits = inner.limits;
  if (inner.cacheScope !== undefined) wrapped.cacheScope = inner.cacheScope;
  if (inner.maxQueued !== undefined) wrapped.maxQueued = inner.maxQueued;
  if (inner.maxQueueMs !== undefined) wrapped.maxQueueMs = inner.maxQueueMs;
  // A read stays a read on a worker: the hedge's loser is aborted there like any remote call.
  if (inner.isReadOnly) wrapped.isReadOnly = inner.isReadOnly.bind(inner);
  if (inner.version) wrapped.version = inner.version.bind(inner);
  return wrapped;
}
