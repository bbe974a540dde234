import type { Observable, SchedulerLike } from 'rxjs';
import type { Row } from '../data/row.js';
import type { ExecutionEvent } from '../progress/events.js';
import type { Principal, SourceExecutor } from '../sources/source.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { HedgeStats } from './hedge-stats.js';
import type { Clock } from './clock.js';
import type { Lane } from './lanes.js';
import type { RetryBudget } from './retry-budget.js';
import type { BatchSink } from './source-call.js';
import type { BindContext } from './bind.js';
import type { QueryDeadline, SourceLatency } from './deadline.js';
import type { RequestTally } from '../sources/request-tally.js';

/** The per-source guards shared by every fragment on that source. */
export interface SourceGuards {
  breaker?: CircuitBreaker;
  budget?: RetryBudget;
  /** What hedged requests know of the source: its latencies and extra calls. */
  hedge?: HedgeStats;
}

/** Where a run's events go: built only when someone listens (`wanted`). */
export interface EventSink {
  /** True when an event would reach anyone; false: skip building it. */
  readonly wanted: boolean;
  emit(event: ExecutionEvent): void;
}

/** The result cache as one run sees it (its principal's scope already applied). */
export interface RunCache {
  /** The key of a fragment's calls; a promise while the source's version is being asked. */
  keyOf(fragment: number, calls: readonly { query: unknown; params: readonly unknown[] }[]): string | undefined | Promise<string | undefined>;
  /**
   * A first-level hit, synchronously; undefined when the first level does not hold it. `fits`:
   * the run's bounds (`SourceEnv.fits`): an entry past them is no hit for it, a miss in `get`.
   */
  peek(fragment: number, key: string, fits?: (rows: Row[]) => boolean): Row[] | undefined;
  /**
   * For a fragment whose query has no references and whose source's version is known: its
   * first-level hit, synchronously. Undefined otherwise (the pipeline looks it up as usual).
   */
  peekStatic(fragment: number, fits?: (rows: Row[]) => boolean): Row[] | undefined;
  /** The first level, then the shared store; `onUnavailable` when the store could not answer. */
  get(fragment: number, key: string, onUnavailable: (reason: string) => void, fits?: (rows: Row[]) => boolean): Promise<Row[] | undefined>;
  /** Stores a load's rows; returns what to hand every caller of the load: the cache's own frozen copy. */
  set(fragment: number, key: string, rows: Row[]): Row[];
  /**
   * Runs `load` once for every concurrent run of the same key and terms (see
   * `TieredCache.share`); the entry gets every sharer's tags. `endAt`: when the fragment must
   * be done on the run's clock (Infinity: no deadline), which bounds the load's calls.
   */
  share<T>(fragment: number, key: string, load: Observable<T>, endAt: number): Observable<T>;
}

/** Streaming into `run.rows()`: where one fragment's batches go. */
export interface FragmentStream {
  sink: BatchSink;
  /** Keep the rows as well (a dependent binds them, or the merge needs them whole). */
  retain: boolean;
  /** True when nobody needs more rows: a fragment not yet started succeeds with none. */
  satisfied(): boolean;
}

/**
 * What the pipeline of a run's fragments on one source needs: the source and its lanes,
 * the run's clock, events, status table, rows and cache. One per (run, source), shared by
 * all its fragments, so a fragment costs no closures of its own. @internal
 */
export interface SourceEnv {
  readonly queryId: string;
  /** The run's own id (`QueryRun.runId`), on every event. */
  readonly runId: string;
  readonly sourceName: string;
  readonly source: SourceExecutor;
  readonly lanes: { readonly global: Lane; readonly source: Lane };
  readonly guards: SourceGuards;
  readonly clock: Clock;
  readonly scheduler: SchedulerLike;
  /** Milliseconds since the query started. */
  at(): number;
  readonly events: EventSink;
  readonly principal: Principal | undefined;
  readonly params: Readonly<Record<string, unknown>>;
  readonly limits: { maxRows?: number; maxBytes?: number };
  /** Whether a cache entry's rows are within `limits` (one function per run and source). */
  readonly fits: (rows: Row[]) => boolean;
  readonly cache: RunCache | undefined;
  readonly random: (() => number) | undefined;
  /** Upstream rows and run parameters, for bound references. */
  readonly bind: BindContext;
  /** Where a fragment's rows go; they never travel in events or machine context. */
  store(fragment: number, rows: Row[]): void;
  /** Counts fetched rows against the query's quota; throws LIMIT_EXCEEDED past it. */
  account(fragmentId: string, rows: readonly Row[]): void;
  /** Streaming for this fragment, if `run.rows()` asked for it. */
  streamOf(fragment: number): FragmentStream | undefined;
  /**
   * True once the fragment's rows can reach nobody (the reader of `run.rows()` left, or full
   * streamed limits no longer want them, nor those of any fragment that binds them): it then
   * succeeds with none, without a call.
   */
  unwanted(fragment: number): boolean;
  /** Why the run is being stopped (cancel reason, fail-fast error), for the abort signal. */
  abortReason(): unknown;
  /**
   * An attempt started: the status table learns it (and progress with it). `since`: when the
   * fragment started (was queued), its `startedAt` in the result whether it settles or is stopped.
   */
  started(fragment: number, attempt: number, since: number): void;
  /** It joined an identical load in flight: running, without a call of its own. */
  joined(fragment: number): void;
  /** A retry was decided (counted whether or not anyone listens to events). */
  retried(fragment: number): void;
  /** The query's deadline, shared out over the plan; undefined without one. */
  readonly deadline?: QueryDeadline;
  /** How long this source's fragments take (feeds the deadline's estimates). */
  readonly latency?: SourceLatency;
  /** A fragment got its budget from the query's deadline (the status table keeps it). */
  budgeted?(fragment: number, ms: number): void;
  /** A streamed fragment handed on `rows` more rows (counted as they go: a stop keeps the count). */
  streamed?(fragment: number, rows: number): void;
  /** The requests the fragment's calls have sent in this run, all together (see request-tally.ts). */
  requestTally?(fragment: number): RequestTally;
}
