import { queryMachineFor } from '../machines/query.machine.js';
import { Subject, Subscription } from 'rxjs';
import { authorizeRun } from './access/index.js';
import { checkCacheFilter, TieredCache } from './cache/index.js';
import { checkSourceRegistration, parseExecutorOptions, type ExecutorOptions, type ResolvedExecutorOptions } from './config.js';
import { TributaryError } from './errors.js';
import type { SourceGuards } from './execution/env.js';
import { executorMetrics } from './executor-metrics.js';
import { createCircuitBreaker } from './execution/circuit-breaker.js';
import { checkRunParams, paramLimits } from './execution/bind.js';
import { clockScheduler, systemClock } from './execution/clock.js';
import { createLane, type Lane } from './execution/lanes.js';
import { createAdaptiveLimit, DEFAULT_ADAPTIVE_MAX, defaultAdaptiveOptions } from './execution/adaptive-limit.js';
import { HedgeStats } from './execution/hedge-stats.js';
import { createRetryBudget } from './execution/retry-budget.js';
import { createQuotas, type QuotaTicket } from './quotas.js';
import { wrapRemote } from './remote/index.js';
import { validatePlan, type ValidatedPlan } from './plan/index.js';
import type { ExecutionEvent } from './progress/events.js';
import { instrument, tracingActive } from './progress/telemetry.js';
import { checkRunOptions, ownRunOptions } from './run/run-options.js';
import { guardInspect } from './run/inspect.js';
import { PreparedPlan, startRun, type QueryRun, type RunOptions } from './run/index.js';
import { RunCacheView } from './run/run-cache.js';
import { sourceVersions } from './run/source-versions.js';
import type { SourceExecutor } from './sources/source.js';
import { DurableRuns, recorderFor, replayRecording, type DurableRun, type ResumeOptions } from './durable/index.js';
import type { Executor } from './executor-api.js';

export type { Executor, ExecutorMetrics, LaneMetrics } from './executor-api.js';

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
  // Handed to every query actor; one that throws costs its own view, never a query.
  const inspect = guardInspect(opts.inspect);
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
  // TTLs run on the executor's clock, so a virtual clock expires entries as it moves.
  const cache = opts.cache === false ? undefined : new TieredCache({ ...opts.cache, now });
  // Preparations belong to this executor and to one state of its registry.
  const owner = {};
  let generation = 0;
  // Each plan object's preparation. It keeps the plan's JSON text as validated: a plan
  // changed since (a param, a fragment) is prepared again, never run stale.
  const prepared = new WeakMap<object, PreparedPlan>();
  let closing: Promise<void> | undefined;
  // Every call of a remote source is a BullMQ job; one lane (queue connections) for all.
  const remote = opts.remote ? wrapRemote(opts.remote) : undefined;
  const durableRuns = opts.runStore ? new DurableRuns(opts.runStore, opts.runLeaseMs, clock) : undefined;

  const register = (name: string, source: SourceExecutor): void => {
    if (closing) throw new TributaryError('CLOSED', 'the executor is closed');
    checkSourceRegistration(name, source, remote !== undefined);
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

  const versions = sourceVersions();

  const validate = (plan: unknown): ValidatedPlan => validatePlan(plan, { sources, limits: opts.limits, executor: { retry: opts.retry, hedge: opts.hedge } });
  const paramShape = paramLimits(opts.limits);

  const prepare = (plan: unknown): PreparedPlan => {
    if (plan instanceof PreparedPlan) {
      if (plan.owner === owner && plan.generation === generation) return plan;
      return prepare(plan.input);
    }
    const remembered = typeof plan === 'object' && plan !== null ? prepared.get(plan) : undefined;
    // Unchanged since (its JSON text, and the values JSON cannot tell apart): no validation.
    if (remembered && remembered.generation === generation && remembered.sameAs(plan)) return remembered;
    const fresh = new PreparedPlan(validate(plan), opts, owner, generation);
    if (typeof plan === 'object' && plan !== null) prepared.set(plan, fresh);
    return fresh;
  };

  // What every run's runtime shares, made once per executor rather than once per run.
  const runLane = (name: string): Lane => sourceLanes.get(name)!;
  const guardsOf = (name: string): SourceGuards => guards.get(name) ?? {};
  const onFinished = (r: QueryRun): void => void running.delete(r);
  // Telemetry is on unless turned off; whether a tracer is there is asked per run (one may be registered later).
  const telemetryOptions = opts.telemetry === false ? undefined : opts.telemetry === true || opts.telemetry === undefined ? {} : opts.telemetry;

  const run = (plan: unknown, options: RunOptions = {}, resumed?: DurableRun): QueryRun => {
    if (closing) throw new TributaryError('CLOSED', 'the executor is closed');
    checkRunOptions(options);
    const runOptions = ownRunOptions(options);
    const p = prepare(plan);
    if (p.hasRunParams) runOptions.params = checkRunParams(p.paramUses, runOptions.params ?? {}, paramShape);
    // Every fragment is authorized before anything runs: a synchronous refusal throws here.
    let gate = opts.authorize ? authorizeRun(opts.authorize, p.plan, runOptions.principal, runOptions.params) : undefined;
    // Durable runs and recordings cost nothing to a run without `runId` / `record`.
    let durable = resumed;
    let ticket: QuotaTicket | undefined;
    let queryRun: QueryRun;
    try {
      // Admitted before a durable run is stored: a refused run leaves nothing behind.
      ticket = quotas.admit(runOptions.principal?.id, p.fragments.length);
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
      queryRun = startRun(p, runOptions, {
        options: opts,
        inspect,
        clock,
        scheduler,
        sources,
        globalLane,
        sourceLane: runLane,
        guardsOf,
        ticket,
        // A recorded run reads no cache: the recording must hold every response.
        cache: cache && !recorder ? new RunCacheView(cache, p, runOptions.principal, sources, versions) : undefined,
        executorEvents: allEvents,
        machineFor: queryMachineFor,
        onFinished,
        // Every property present, absent ones undefined: one object shape for every run, built
        // without spreading conditional literals.
        durable,
        recorder,
        random: recorder ? recorder.random : random,
      }, gate);
    } catch (error) {
      // Never started: a verdict still coming must not reject unhandled; the slot goes back.
      gate?.catch(() => undefined);
      ticket?.release();
      throw error;
    }
    running.add(queryRun);
    if (telemetryOptions && tracingActive(telemetryOptions)) telemetry.add(instrument(queryRun.events$, telemetryOptions));
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
      await store.abandon(loaded.durable);
      throw error;
    }
  };

  const close = (): Promise<void> => {
    closing ??= (async () => {
      durableRuns?.beginClose();
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
    // Not an async wrapper (one promise and one microtask less per run); a synchronous
    // refusal (an invalid plan, a closed executor) still comes back as a rejection.
    execute: (plan, runOptions) => {
      try {
        return run(plan, runOptions).result;
      } catch (error) {
        return Promise.reject(error as Error);
      }
    },
    // After close() the registry is gone: say so, rather than SOURCE_UNKNOWN for every source.
    prepare: (plan) => {
      if (closing) throw new TributaryError('CLOSED', 'the executor is closed');
      return prepare(plan);
    },
    validate: (plan) => {
      if (closing) throw new TributaryError('CLOSED', 'the executor is closed');
      return validate(plan);
    },
    register,
    unregister: (name) => {
      const source = sources.get(name);
      if (source) generation++;
      sources.delete(name);
      // Not closed: running queries keep the lane (and the source) until they finish.
      sourceLanes.delete(name);
      guards.delete(name);
      versions.forget(name);
      // Its cached rows go too (here at once; in the shared store and the other instances in the
      // background, its hits missed meanwhile): a source registered later under this name — its
      // version() may well be the same — must not be served them.
      if (source && cache) void cache.invalidate({ source: name }).catch(() => undefined);
      return source;
    },
    cache: {
      invalidate: async (filter) => {
        const checked = checkCacheFilter(filter);
        return cache ? cache.invalidate(checked) : { local: 0, shared: 0 };
      },
      stats: () => cache?.stats() ?? { hits: 0, misses: 0, evictions: 0, entries: 0, bytes: 0, inflightShared: 0 },
    },
    events$: allEvents.asObservable(),
    metrics: () => executorMetrics({ running: running.size, globalLane, sourceLanes, guards, cache: cache?.stats() }),
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
