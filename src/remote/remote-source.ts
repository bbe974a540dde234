import { randomUUID } from 'node:crypto';
import { TributaryError } from '../errors.js';
import { defaultIsRetryable, type SourceExecutor } from '../sources/source.js';
import { reportCounted } from '../sources/call-limits.js';
import { requestCapOf, requestTallyOf, type RequestTally } from '../sources/request-tally.js';
import { createRemoteLane, type RemoteLane, type RemoteLaneOptions } from './remote-lane.js';

/** Marks errors that came back from a worker: their `retryable` was decided there. */
const remoteErrors = new WeakSet<object>();

/** Names each fragment's tally (one per fragment and run) for its count in Redis. */
const tallyNames = new WeakMap<RequestTally, string>();
const tallyName = (tally: RequestTally): string => {
  let name = tallyNames.get(tally);
  if (name === undefined) tallyNames.set(tally, (name = randomUUID()));
  return name;
};

/**
 * Wraps a source so that each call runs as one BullMQ job on a worker (`createWorker`)
 * that has a source of the same name. Everything else (kind, query schema, lane size,
 * cache scope, version) is the inner source's, so validation, caching, limits and events
 * behave as in-process; the inner source itself is only closed, never called.
 *
 * Pass a lane to share one queue's connections between sources; given options, the source
 * opens its own and closes them in `close()`.
 *
 * What the worker counted comes back with the rows: its rows' bytes (the coordinator does not
 * estimate them again) and the requests it sent, added to its fragment's request tally, whose
 * count so far the job carries. A source with a cap on its fragments' requests (`httpSource`'s
 * `maxRequests`) sends that cap with every job, and the name of the fragment's count in Redis,
 * which the jobs of the fragment reserve from together (job-requests.ts): the cap bounds the
 * fragment, not the job, and is this process's, not the worker's.
 *
 * @example
 * const lane = createRemoteLane({ connection: 'redis://127.0.0.1:6379', queue: 'tributary' });
 * const executor = createExecutor({ sources: { crm: remoteSource('crm', sqliteSource({ file }), lane) } });
 */
export function remoteSource<Q>(name: string, inner: SourceExecutor<Q>, lane: RemoteLane | RemoteLaneOptions): SourceExecutor<Q> {
  const owned = 'call' in lane ? undefined : createRemoteLane(lane);
  const target = owned ?? (lane as RemoteLane);
  const maxRequests = requestCapOf(inner);
  const wrapped: SourceExecutor<Q> = {
    kind: inner.kind,
    querySchema: inner.querySchema,
    execute: (query, ctx) => {
      const tally = requestTallyOf(ctx);
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
              // A lifted cap needs no count: its jobs send no name, and no Redis command is made for it.
              ...(maxRequests === undefined ? {} : { requestCap: Number.isFinite(maxRequests) ? { max: maxRequests, tally: tallyName(tally) } : { max: maxRequests } }),
            },
          },
          ctx.signal,
          ctx.onRemote,
          ({ requests, bytes }) => {
            if (requests !== undefined) tally.requests += requests;
            if (bytes !== undefined) reportCounted(ctx, { bytes });
          },
        )
        .catch((error: unknown) => {
          if (error instanceof TributaryError && error.retryable !== undefined) remoteErrors.add(error);
          throw error;
        });
    },
    isRetryable: (error) => {
      if (typeof error === 'object' && error !== null && remoteErrors.has(error)) return (error as TributaryError).retryable === true;
      return inner.isRetryable ? inner.isRetryable(error) : defaultIsRetryable(error);
    },
    close: async () => {
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
