import { createQueryMachine } from '../machines/query.machine.js';
import { Subject, Subscription, type Observable } from 'rxjs';
import { cacheKey, cacheScopeOf, resolveCachePolicy, TieredCache, type CacheFilter, type CacheInvalidation, type CacheStats } from './cache/index.js';
import { parseExecutorOptions, sourceExecutorSchema, type ExecutorOptions, type ResolvedExecutorOptions } from './config.js';
import { TributaryError } from './errors.js';
import type { FragmentCachePort } from './execution/fragment.js';
import type { SourceGuards } from './execution/attempt.js';
import { createCircuitBreaker, type CircuitState } from './execution/circuit-breaker.js';
import { checkRunParams } from './execution/bind.js';
import { createLane, type Lane, type LaneStats } from './execution/lanes.js';
import { createRetryBudget } from './execution/retry-budget.js';
import { createQuotas } from './quotas.js';
import { wrapRemote, type RemoteMetrics } from './remote/index.js';
import { validatePlan, type ValidatedPlan } from './plan/index.js';
import type { ExecutionEvent } from './progress/events.js';
import { instrument } from './progress/telemetry.js';
import type { QueryResult } from './result.js';
import { startRun, type QueryRun, type RunOptions } from './run.js';
import type { Principal, SourceExecutor } from './sources/source.js';

/** Live figures of an executor, for dashboards and autoscaling. */
export interface ExecutorMetrics {
  runningQueries: number;
  lanes: { global: LaneStats; sources: Record<string, LaneStats> };
  /** Each source's circuit state and retry-budget tokens. */
  sources: Record<string, { circuit: CircuitState | 'disabled'; retryTokens: number | undefined }>;
  cache: CacheStats | undefined;
}

/** The executor: a registry of sources, the lanes, the cache, and `run()`. */
export interface Executor {
  /** Validates and starts a plan; throws `PLAN_INVALID` / `SOURCE_UNKNOWN` before anything runs. */
  run(plan: unknown, options?: RunOptions): QueryRun;
  /** `run(plan, options).result`. */
  execute(plan: unknown, options?: RunOptions): Promise<QueryResult>;
  /** Checks a plan against the registered sources without running it. */
  validate(plan: unknown): ValidatedPlan;
  /** Adds a source; throws `CONFIG_INVALID` if the name is taken. */
  register(name: string, source: SourceExecutor): void;
  /** Removes a source (without closing it: it is handed back to its owner). */
  unregister(name: string): SourceExecutor | undefined;
  readonly cache: {
    /**
     * Drops matching entries (every given field must match; `{}` drops all): from this
     * process at once, then from the shared store (and, through it, from the other
     * instances). Rejects with `SOURCE_UNAVAILABLE` if the store could not be reached.
     */
    invalidate(filter?: CacheFilter): Promise<CacheInvalidation>;
    stats(): CacheStats;
  };
  /** Every event of every query of this executor. */
  readonly events$: Observable<ExecutionEvent>;
  metrics(): ExecutorMetrics;
  /**
   * The remote queue's depth and wait (`remote` option): the signal to scale workers on.
   * Async, as it asks Redis; `undefined` without `remote`.
   */
  remoteMetrics(): Promise<RemoteMetrics | undefined>;
  /** Cancels running queries and closes every source; idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Creates an executor. Options are validated with zod (`CONFIG_INVALID` on bad input) and
 * merged with the defaults.
 *
 * @example
 * const executor = createExecutor({ sources: { crm: sqliteSource({ file: 'crm.db' }) } });
 * const result = await executor.execute(plan);
 */
export function createExecutor(options: ExecutorOptions = {}): Executor {
  const opts: ResolvedExecutorOptions = parseExecutorOptions(options);
  const sources = new Map<string, SourceExecutor>();
  const sourceLanes = new Map<string, Lane>();
  const guards = new Map<string, SourceGuards>();
  const quotas = createQuotas(opts.quotas);
  const globalLane = createLane(opts.concurrency);
  const running = new Set<QueryRun>();
  const allEvents = new Subject<ExecutionEvent>();
  // OpenTelemetry: one instrumented stream per run, so overlapping runs of one plan id keep apart.
  const telemetry = new Subscription();
  const cache = opts.cache === false ? undefined : new TieredCache(opts.cache);
  const versions = new Map<string, Promise<string>>();
  let closing: Promise<void> | undefined;
  // Every call of a remote source is a BullMQ job; one lane (queue connections) for all.
  const remote = opts.remote ? wrapRemote(opts.remote) : undefined;

  const register = (name: string, source: SourceExecutor): void => {
    if (closing) throw new TributaryError('CLOSED', 'the executor is closed');
    if (!sourceExecutorSchema.safeParse(source).success) {
      throw new TributaryError('CONFIG_INVALID', `source "${name}" is not a SourceExecutor`, { issues: [{ path: `sources.${name}`, message: 'expected execute(query, ctx) and a zod querySchema' }] });
    }
    if (sources.has(name)) {
      throw new TributaryError('CONFIG_INVALID', `a source named "${name}" is already registered; unregister it first`, { issues: [{ path: `sources.${name}`, message: 'duplicate source name' }] });
    }
    sources.set(name, remote ? remote.wrap(name, source) : source);
    sourceLanes.set(name, createLane(source.maxConcurrency ?? Infinity));
    guards.set(name, {
      ...(opts.circuitBreaker === false ? {} : { breaker: createCircuitBreaker(opts.circuitBreaker) }),
      ...(opts.retryBudget === false ? {} : { budget: createRetryBudget(opts.retryBudget) }),
    });
  };
  for (const [name, source] of Object.entries(opts.sources)) register(name, source);

  // A source's version is asked once and remembered; a failed lookup is forgotten, and the
  // fragment that met it bypasses the cache rather than keying on a guess.
  const versionOf = (name: string, source: SourceExecutor): Promise<string | undefined> => {
    let v = versions.get(name);
    if (!v) {
      v = Promise.resolve().then(() => (source.version ? source.version() : source.kind));
      versions.set(name, v);
      v.catch(() => versions.delete(name));
    }
    return v.catch(() => undefined);
  };

  const cachePortFor = (plan: ValidatedPlan, fragmentId: string, principal: Principal | undefined): FragmentCachePort | undefined => {
    if (!cache || opts.cache === false) return undefined;
    const fragment = plan.fragmentsById.get(fragmentId)!;
    const policy = resolveCachePolicy(opts.cache.ttlMs, plan.cache, fragment.cache);
    if (!policy) return undefined;
    const source = sources.get(fragment.source);
    // Unregistered while the run goes on: the name may soon mean another source, so bypass.
    if (!source) return undefined;
    const scope = cacheScopeOf(source.cacheScope, principal?.id);
    return {
      keyOf: async (calls) => {
        const version = await versionOf(fragment.source, source);
        return version === undefined ? undefined : cacheKey({ source: fragment.source, version, calls, scope });
      },
      get: (key, onUnavailable) => cache.get(key, { tags: policy.tags, ...(onUnavailable ? { onUnavailable } : {}) }),
      set: (key, rows) => cache.set(key, rows, { source: fragment.source, tags: policy.tags, ttlMs: policy.ttlMs }),
      share: (key, load$) => cache.share(key, load$),
    };
  };

  const validate = (plan: unknown): ValidatedPlan => validatePlan(plan, { sources, limits: opts.limits });

  const run = (plan: unknown, runOptions: RunOptions = {}): QueryRun => {
    if (closing) throw new TributaryError('CLOSED', 'the executor is closed');
    const validated = validate(plan);
    checkRunParams(validated, runOptions.params ?? {});
    const ticket = quotas.admit(runOptions.principal?.id, validated.fragments.length);
    const queryRun = startRun(validated, runOptions, {
      ticket,
      guardsOf: (name) => guards.get(name) ?? {},
      options: opts,
      sources,
      globalLane,
      sourceLane: (name) => sourceLanes.get(name)!,
      cachePortFor,
      publish: (event) => allEvents.next(event),
      createMachine: createQueryMachine,
      onFinished: (r) => running.delete(r),
    });
    running.add(queryRun);
    if (opts.telemetry !== false) telemetry.add(instrument(queryRun.events$, opts.telemetry === true ? {} : opts.telemetry));
    return queryRun;
  };

  const close = (): Promise<void> => {
    closing ??= (async () => {
      const pending = [...running];
      for (const r of pending) r.cancel('the executor is closing');
      await Promise.allSettled(pending.map((r) => r.result));
      telemetry.unsubscribe();
      await Promise.allSettled([...sources.values()].map((s) => s.close?.()));
      await remote?.close();
      await cache?.close();
      for (const lane of sourceLanes.values()) lane.close();
      globalLane.close();
      allEvents.complete();
    })();
    return closing;
  };

  return {
    run,
    execute: async (plan, runOptions) => run(plan, runOptions).result,
    validate,
    register,
    unregister: (name) => {
      const source = sources.get(name);
      sources.delete(name);
      // Not closed: running queries keep the lane (and the source) until they finish.
      sourceLanes.delete(name);
      guards.delete(name);
      versions.delete(name);
      return source;
    },
    cache: {
      invalidate: async (filter) => (cache ? cache.invalidate(filter) : { local: 0, shared: 0 }),
      stats: () => cache?.stats() ?? { hits: 0, misses: 0, evictions: 0, entries: 0, bytes: 0, inflightShared: 0 },
    },
    events$: allEvents.asObservable(),
    metrics: () => ({
      runningQueries: running.size,
      lanes: {
        global: globalLane.stats(),
        sources: Object.fromEntries([...sourceLanes].map(([name, lane]) => [name, lane.stats()])),
      },
      cache: cache?.stats(),
      sources: Object.fromEntries(
        [...guards].map(([name, g]) => [name, { circuit: g.breaker?.state() ?? 'disabled', retryTokens: g.budget?.tokens() }]),
      ),
    }),
    remoteMetrics: async () => remote?.metrics(),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/* The query machine, for embedding or testing it directly (src/ reaches machines/ only here). */
export { createQueryMachine };
export type { QueryContext, FragmentStatus, QueryMachineDeps } from '../machines/query.machine.js';
