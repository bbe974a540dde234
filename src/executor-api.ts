import type { Observable } from 'rxjs';
import type { CacheFilter, CacheInvalidation, CacheStats } from './cache/index.js';
import type { CircuitState } from './execution/circuit-breaker.js';
import type { RemoteMetrics } from './remote/index.js';
import type { ValidatedPlan } from './plan/index.js';
import type { ExecutionEvent } from './progress/events.js';
import type { PreparedPlan, QueryResult, QueryRun, RunOptions } from './run/index.js';
import type { SourceExecutor } from './sources/source.js';
import type { Recording, ReplayOptions, ResumeOptions, RunsFilter, StoredRunInfo } from './durable/index.js';

/**
 * One lane's occupancy: calls `running` and `queued`, and its `limit` — `null` when the lane
 * has none (a source without `maxConcurrency`), so the value is the same after `JSON.stringify`.
 */
export interface LaneMetrics {
  limit: number | null;
  running: number;
  queued: number;
}

/** Live figures of an executor, for dashboards and autoscaling. */
export interface ExecutorMetrics {
  runningQueries: number;
  lanes: { global: LaneMetrics; sources: Record<string, LaneMetrics> };
  /**
   * Each source's circuit state, retry-budget tokens, and the current limit of its lane
   * (`adaptiveConcurrency` moves it; otherwise its `maxConcurrency`; `null` without one);
   * `hedges`: extra (hedged) calls started since the executor was created, `hedgeWins`: those
   * that answered before the call they hedged.
   */
  sources: Record<string, { circuit: CircuitState | 'disabled'; retryTokens: number | undefined; limit: number | null; hedges: number; hedgeWins: number }>;
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
   * rest run again. Run ids are scoped by principal: this resumes the run `runId` that
   * `options.principal` (its `id` and claims; none: a run started without one) started. Rejects with
   * `RUN_UNKNOWN` (no such run of this principal — another principal's run of the same id, or
   * the same id's with other claims, is never found) or `RUN_LEASED` (another executor holds it).
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
