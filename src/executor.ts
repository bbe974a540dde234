import { Subject, type Observable } from 'rxjs';
import { cacheKey, cacheScopeOf, ResultCache, type CacheStats } from './cache/index.js';
import { parseExecutorOptions, sourceExecutorSchema, type ExecutorOptions, type ResolvedExecutorOptions } from './config.js';
import { TributaryError } from './errors.js';
import type { FragmentCachePort } from './execution/fragment.js';
import type { SourceGuards } from './execution/attempt.js';
import { createCircuitBreaker, type CircuitState } from './execution/circuit-breaker.js';
import { createLane, type Lane, type LaneStats } from './execution/lanes.js';
import { createRetryBudget } from './execution/retry-budget.js';
import { createQuotas } from './quotas.js';
import { validatePlan, type ValidatedPlan } from './plan/index.js';
import type { ExecutionEvent } from './progress/events.js';
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
    invalidate(filter?: { source?: string; tag?: string; key?: string }): number;
    stats(): CacheStats;
  };
  /** Every event of every query of this executor. */
  readonly events$: Observable<ExecutionEvent>;
  metrics(): ExecutorMetrics;
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
  const cache = opts.cache === false ? undefined : new ResultCache(opts.cache);
  const versions = new Map<string, Promise<string>>();
  let closing: Promise<void> | undefined;

  const register = (name: string, source: SourceExecutor): void => {
    if (closing) throw new TributaryError('CLOSED', 'the executor is closed');
    if (!sourceExecutorSchema.safeParse(source).success) {
      throw new TributaryError('CONFIG_INVALID', `source "${name}" is not a SourceExecutor`, { issues: [{ path: `sources.${name}`, message: 'expected execute(query, ctx) and a zod querySchema' }] });
    }
    if (sources.has(name)) {
      throw new TributaryError('CONFIG_INVALID', `a source named "${name}" is already registered; unregister it first`, { issues: [{ path: `sources.${name}`, message: 'duplicate source name' }] });
    }
    sources.set(name, source);
    sourceLanes.set(name, createLane(source.maxConcurrency ?? Infinity));
    guards.set(name, {
      ...(opts.circuitBreaker === false ? {} : { breaker: createCircuitBreaker(opts.circuitBreaker) }),
      ...(opts.retryBudget === false ? {} : { budget: createRetryBudget(opts.retryBudget) }),
    });
  };
  for (const [name, source] of Object.entries(opts.sources)) register(name, source);

  const versionOf = (name: string, source: SourceExecutor): Promise<string> => {
    let v = versions.get(name);
    if (!v) {
      v = Promise.resolve()
        .then(() => (source.version ? source.version() : source.kind))
        .catch(() => source.kind);
      versions.set(name, v);
    }
    return v;
  };

  const cachePortFor = (plan: ValidatedPlan, fragmentId: string, principal: Principal | undefined): FragmentCachePort | undefined => {
    if (!cache) return undefined;
    const fragment = plan.fragmentsById.get(fragmentId)!;
    const override = fragment.cache ?? plan.cache;
    if (override === false || (override && override.ttlMs === 0)) return undefined;
    const source = sources.get(fragment.source)!;
    const scope = cacheScopeOf(source.cacheScope, principal?.id);
    const tags = (override && override.tags) || [];
    return {
      keyOf: async (calls) => cacheKey({ source: fragment.source, version: await versionOf(fragment.source, source), calls, scope }),
      get: async (key) => cache.get(key),
      set: (key, rows) => cache.set(key, rows, { source: fragment.source, tags, ...(override && override.ttlMs !== undefined ? { ttlMs: override.ttlMs } : {}) }),
      share: (key, load$) => cache.share(key, load$),
    };
  };

  const validate = (plan: unknown): ValidatedPlan => validatePlan(plan, { sources, limits: opts.limits });

  const run = (plan: unknown, runOptions: RunOptions = {}): QueryRun => {
    if (closing) throw new TributaryError('CLOSED', 'the executor is closed');
    const validated = validate(plan);
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
      onFinished: (r) => running.delete(r),
    });
    running.add(queryRun);
    return queryRun;
  };

  const close = (): Promise<void> => {
    closing ??= (async () => {
      const pending = [...running];
      for (const r of pending) r.cancel('the executor is closing');
      await Promise.allSettled(pending.map((r) => r.result));
      await Promise.allSettled([...sources.values()].map((s) => s.close?.()));
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
      sourceLanes.get(name)?.close();
      sourceLanes.delete(name);
      guards.delete(name);
      versions.delete(name);
      return source;
    },
    cache: {
      invalidate: (filter) => cache?.invalidate(filter) ?? 0,
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
    close,
    [Symbol.asyncDispose]: close,
  };
}
