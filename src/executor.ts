import { queryMachineFor } from '../machines/query.machine.js';
import { Subject, Subscription, type Observable } from 'rxjs';
import { authorizeRun } from './access/index.js';
import { TieredCache, type CacheFilter, type CacheInvalidation, type CacheStats } from './cache/index.js';
import { parseExecutorOptions, sourceExecutorSchema, sourceLaneSchema, type ExecutorOptions, type ResolvedExecutorOptions } from './config.js';
import { TributaryError } from './errors.js';
import type { SourceGuards } from './execution/env.js';
import { createCircuitBreaker, type CircuitState } from './execution/circuit-breaker.js';
import { checkRunParams } from './execution/bind.js';
import { clockScheduler, systemClock } from './execution/clock.js';
import { createLane, type Lane, type LaneStats } from './execution/lanes.js';
import { createAdaptiveLimit, DEFAULT_ADAPTIVE_MAX, defaultAdaptiveOptions } from './execution/adaptive-limit.js';
import { HedgeStats } from './execution/hedge-stats.js';
import { createRetryBudget } from './execution/retry-budget.js';
import { createQuotas } from './quotas.js';
import { wrapRemote, type RemoteMetrics } from './remote/index.js';
import { validatePlan, type ValidatedPlan } from './plan/index.js';
import type { ExecutionEvent } from './progress/events.js';
import { instrument, tracingActive } from './progress/telemetry.js';
import { checkRunOptions } from './run/run-options.js';
import { PreparedPlan, startRun, type QueryResult, type QueryRun, type RunOptions } from './run/index.js';
import { RunCacheView, type SourceVersions } from './run/run-cache.js';
import type { SourceExecutor } from './sources/source.js';
import { DurableRuns, recorderFor, replayRecording, type DurableRun, type Recording, type ReplayOptions, type ResumeOptions, type RunsFilter, type StoredRunInfo } from './durable/index.js';

/** Live figures of an executor, for dashboards and autoscaling. */
export interface ExecutorMetrics {
  runningQueries: number;
  lanes: { global: LaneStats; sources: Record<string, LaneStats> };
  /**
   * Each source's circuit state, retry-budget tokens, and the current limit of its lane
   * (`adaptiveConcurrency` moves it; otherwise its `maxConcurrency`, Infinity without one).
   */
  sources: Record<string, { circuit: CircuitState | 'disabled'; retryTokens: number | undefined; limit: number }>;
  cache: CacheStats | undefined;
}

/** The executor: a registry of sources, the lanes, the cache, and `run()`. */
export interface Executor {
  /**
   * Starts a plan (or a prepared one); throws `PLAN_INVALID` / `SOURCE_UNKNOWN` before
   * anything runs, and `FORBIDDEN` when the `authorize` rule refuses a fragment (an
   * asynchronous rule's refusal rejects `result` instead). A plan object run again is not validated again: its preparation is
   * remembered (treat a plan you have run as immutable; pass a new object to change it).
   */
  run(plan: unknown, options?: RunOptions): QueryRun;
  /** `run(plan, options).result`. */
  execute(plan: unknown, options?: RunOptions): Promise<QueryResult>;
  /**
   * Validates a plan once against the registered sources and precomputes what every run
   * of it needs (levels, dependents, each fragment's merged settings): `run(prepared)` then
   * costs no validation, like a prepared statement.
   */
  prepare(plan: unknown): PreparedPlan;
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
  /**
   * Continues a stored run (`run(plan, { runId })` with a `runStore`) in this process: the
   * fragments whose rows were stored settle from the store without calling their sources, the
   * rest run again. Rejects with `RUN_UNKNOWN` (no such run), `FORBIDDEN` (stored under
   * another principal, without `anyPrincipal`) or `RUN_LEASED` (another executor holds it).
   */
  resume(runId: string, options?: ResumeOptions): Promise<QueryRun>;
  /** The stored runs of `filter.principal` (or of every principal with `anyPrincipal: true`). */
  runs(filter?: RunsFilter): Promise<StoredRunInfo[]>;
  /**
   * Runs a recording (`run.recording()`, or its JSON text) again, against the recorded
   * responses on a virtual clock: no source is called. See README "Durable runs".
   */
  replay(recording: Recording | string, options?: ReplayOptions): QueryRun;
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
  return buildExecutor(options, undefined);
}

/** `createExecutor`, with the random source of retry jitter for a replay. */
function buildExecutor(options: ExecutorOptions, random: (() => number) | undefined): Executor {
  const opts: ResolvedExecutorOptions = parseExecutorOptions(options);
  const clock = opts.clock ?? systemClock;
  const scheduler = clockScheduler(clock);
  const now = (): number => clock.now();
  const sources = new Map<string, SourceExecutor>();
  const sourceLanes = new Map<string, Lane>();
  const guards = new Map<string, SourceGuards>();
  const quotas = createQuotas(opts.quotas, now);
  const globalLane = createLane(opts.concurrency);
  const running = new Set<QueryRun>();
  const allEvents = new Subject<ExecutionEvent>();
  // OpenTelemetry: one instrumented stream per run, so overlapping runs of one plan id keep apart.
  const telemetry = new Subscription();
  const cache = opts.cache === false ? undefined : new TieredCache(opts.cache);
  // Preparations belong to this executor and to one state of its registry.
  const owner = {};
  let generation = 0;
  const prepared = new WeakMap<object, PreparedPlan>();
  let closing: Promise<void> | undefined;
  // Every call of a remote source is a BullMQ job; one lane (queue connections) for all.
  const remote = opts.remote ? wrapRemote(opts.remote) : undefined;
  const durableRuns = opts.runStore ? new DurableRuns(opts.runStore, opts.runLeaseMs) : undefined;

  const register = (name: string, source: SourceExecutor): void => {
    if (closing) throw new TributaryError('CLOSED', 'the executor is closed');
    if (!sourceExecutorSchema.safeParse(source).success) {
      throw new TributaryError('CONFIG_INVALID', `source "${name}" is not a SourceExecutor`, { issues: [{ path: `sources.${name}`, message: 'expected execute(query, ctx) and a zod querySchema' }] });
    }
    const lane = sourceLaneSchema.safeParse({ maxQueued: source.maxQueued, maxQueueMs: source.maxQueueMs });
    if (!lane.success) {
      const issues = lane.error.issues.map((i) => ({ path: `sources.${name}.${i.path.join('.')}`, message: i.message }));
      throw new TributaryError('CONFIG_INVALID', `source "${name}": ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
    }
    if (sources.has(name)) {
      throw new TributaryError('CONFIG_INVALID', `a source named "${name}" is already registered; unregister it first`, { issues: [{ path: `sources.${name}`, message: 'duplicate source name' }] });
    }
    generation++;
    sources.set(name, remote ? remote.wrap(name, source) : source);
    sourceLanes.set(name, sourceLane(source));
    guards.set(name, {
      hedge: new HedgeStats(clock),
      ...(opts.circuitBreaker === false ? {} : { breaker: createCircuitBreaker(opts.circuitBreaker, now) }),
      ...(opts.retryBudget === false ? {} : { budget: createRetryBudget(opts.retryBudget) }),
    });
  };
  /** A source's lane: its limit (fixed, or adaptive up to its `maxConcurrency`) and its load shedding. */
  function sourceLane(source: SourceExecutor): Lane {
    const adaptive = opts.adaptiveConcurrency === false ? undefined : opts.adaptiveConcurrency === true ? defaultAdaptiveOptions : opts.adaptiveConcurrency;
    const cap = Math.min(adaptive?.max ?? Infinity, source.maxConcurrency ?? Infinity);
    const maxQueued = source.maxQueued ?? opts.maxQueued;
    const maxQueueMs = source.maxQueueMs ?? opts.maxQueueMs;
    return createLane(source.maxConcurrency ?? Infinity, {
      clock,
      ...(maxQueued === undefined ? {} : { maxQueued }),
      ...(maxQueueMs === undefined ? {} : { maxQueueMs }),
      ...(adaptive ? { adaptive: createAdaptiveLimit(adaptive, Number.isFinite(cap) ? cap : DEFAULT_ADAPTIVE_MAX) } : {}),
    });
  }
  for (const [name, source] of Object.entries(opts.sources)) register(name, source);

  // A source's version is asked once and remembered; a failed lookup is forgotten, and the
  // fragment that met it bypasses the cache rather than keying on a guess.
  const asked = new Map<string, Promise<string>>();
  const known = new Map<string, string>();
  const versions: SourceVersions = {
    known: (name) => known.get(name),
    ask: (name, source) => {
      let v = asked.get(name);
      if (!v) {
        v = Promise.resolve().then(() => (source.version ? source.version() : source.kind));
        asked.set(name, v);
        v.then(
          (value) => asked.get(name) === v && known.set(name, value),
          () => asked.delete(name),
        );
      }
      return v.catch(() => undefined);
    },
  };

  const validate = (plan: unknown): ValidatedPlan => validatePlan(plan, { sources, limits: opts.limits });

  const prepare = (plan: unknown): PreparedPlan => {
    if (plan instanceof PreparedPlan) {
      if (plan.owner === owner && plan.generation === generation) return plan;
      return prepare(plan.input);
    }
    const remembered = typeof plan === 'object' && plan !== null ? prepared.get(plan) : undefined;
    if (remembered && remembered.generation === generation) return remembered;
    const fresh = new PreparedPlan(plan, validate(plan), opts, owner, generation);
    if (typeof plan === 'object' && plan !== null) prepared.set(plan, fresh);
    return fresh;
  };

  const run = (plan: unknown, runOptions: RunOptions = {}, resumed?: DurableRun): QueryRun => {
    if (closing) throw new TributaryError('CLOSED', 'the executor is closed');
    checkRunOptions(runOptions);
    const p = prepare(plan);
    if (p.hasRunParams) checkRunParams(p.plan, runOptions.params ?? {});
    // Every fragment is authorized before anything runs: a synchronous refusal throws here.
    let gate = opts.authorize ? authorizeRun(opts.authorize, p.plan, runOptions.principal) : undefined;
    // Durable runs and recordings cost nothing to a run without `runId` / `record`.
    let durable = resumed;
    // A resumed run starts after the caller's `await resume()` has taken it, so a subscriber
    // attached then sees every event, as one attached right after `run()` does.
    if (resumed) gate = Promise.all([gate, new Promise<void>((resolve) => setImmediate(resolve))]).then(() => undefined);
    if (!durable && runOptions.runId !== undefined) {
      if (!durableRuns) throw new TributaryError('CONFIG_INVALID', 'run(plan, { runId }) needs a run store: createExecutor({ runStore: sqliteRunStore({ file }) })', { issues: [{ path: 'runStore', message: 'required for runId' }] });
      const begun = durableRuns.begin(runOptions.runId, p, runOptions);
      durable = begun.durable;
      gate = gate ? Promise.all([gate, begun.created]).then(() => undefined) : begun.created;
    }
    const recorder = runOptions.record ? recorderFor(p, runOptions, opts) : undefined;
    const ticket = quotas.admit(runOptions.principal?.id, p.fragments.length);
    const queryRun = startRun(p, runOptions, {
      options: opts,
      clock,
      scheduler,
      sources,
      globalLane,
      sourceLane: (name) => sourceLanes.get(name)!,
      guardsOf: (name) => guards.get(name) ?? {},
      ticket,
      // A recorded run reads no cache: the recording must hold every response.
      ...(cache && !recorder ? { cache: new RunCacheView(cache, p, runOptions.principal, sources, versions) } : {}),
      executorEvents: allEvents,
      machineFor: queryMachineFor,
      onFinished: (r) => running.delete(r),
      ...(durable ? { durable } : {}),
      ...(recorder ? { recorder, random: recorder.random } : random ? { random } : {}),
    }, gate);
    running.add(queryRun);
    if (opts.telemetry !== false) {
      const telemetryOptions = opts.telemetry === true ? {} : opts.telemetry;
      if (tracingActive(telemetryOptions)) telemetry.add(instrument(queryRun.events$, telemetryOptions));
    }
    return durable && durableRuns ? durableRuns.attach(queryRun, durable) : queryRun;
  };

  const needStore = (): DurableRuns => {
    if (closing) throw new TributaryError('CLOSED', 'the executor is closed');
    if (!durableRuns) throw new TributaryError('CONFIG_INVALID', 'durable runs need a run store: createExecutor({ runStore: sqliteRunStore({ file }) })', { issues: [{ path: 'runStore', message: 'not configured' }] });
    return durableRuns;
  };

  const resume = async (runId: string, resumeOptions: ResumeOptions = {}): Promise<QueryRun> => {
    const store = needStore();
    const loaded = await store.load(runId, resumeOptions, prepare);
    try {
      return run(loaded.prepared, loaded.runOptions, loaded.durable);
    } catch (error) {
      await loaded.durable.finish('interrupted');
      throw error;
    }
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
      await durableRuns?.close();
      for (const lane of sourceLanes.values()) lane.close();
      globalLane.close();
      allEvents.complete();
    })();
    return closing;
  };

  return {
    run: (plan, runOptions) => run(plan, runOptions),
    execute: async (plan, runOptions) => run(plan, runOptions).result,
    prepare,
    validate,
    register,
    unregister: (name) => {
      const source = sources.get(name);
      if (source) generation++;
      sources.delete(name);
      // Not closed: running queries keep the lane (and the source) until they finish.
      sourceLanes.delete(name);
      guards.delete(name);
      asked.delete(name);
      known.delete(name);
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
        [...guards].map(([name, g]) => [name, { circuit: g.breaker?.state() ?? 'disabled', retryTokens: g.budget?.tokens(), limit: sourceLanes.get(name)?.stats().limit ?? Infinity }]),
      ),
    }),
    remoteMetrics: async () => remote?.metrics(),
    resume,
    runs: async (filter) => needStore().runs(filter),
    replay: (recording, replayOptions) =>
      replayRecording(
        recording,
        {
          start: (replayExecutorOptions, plan, runOptions, draw) => {
            const replaying = buildExecutor(replayExecutorOptions, draw);
            try {
              return { run: replaying.run(plan, runOptions), close: () => replaying.close() };
            } catch (error) {
              void replaying.close();
              throw error;
            }
          },
        },
        { ...(opts.inspect && !replayOptions?.inspect ? { inspect: opts.inspect as ExecutorOptions['inspect'] } : {}), ...replayOptions },
      ),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/* The query machine, for embedding or testing it directly (src/ reaches machines/ only here). */
export { queryMachineFor };
export type { QueryContext, QueryMachine, QueryMachineEvent, QueryMachineInput } from '../machines/query.machine.js';
