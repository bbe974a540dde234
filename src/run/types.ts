import type { Observable, SchedulerLike, Subject } from 'rxjs';
import type { Actor } from 'xstate';
import type { QueryMachine } from '../../machines/query.machine.js';
import type { ResolvedExecutorOptions } from '../config.js';
import type { Row } from '../data/row.js';
import type { Clock } from '../execution/clock.js';
import type { RunCache, SourceGuards } from '../execution/env.js';
import type { Lane } from '../execution/lanes.js';
import type { ExecutionEvent } from '../progress/events.js';
import type { Progress } from '../progress/progress.js';
import type { QuotaTicket } from '../quotas.js';
import type { Principal, SourceExecutor } from '../sources/source.js';
import type { QueryResult } from './result.js';
import type { DurableHooks } from '../durable/durable-run.js';
import type { Recorder } from '../durable/recorder.js';
import type { Recording } from '../durable/recording.js';
import type { Inspect } from './inspect.js';

/** Options of one run. */
export interface RunOptions {
  /** Aborting it cancels the run, as `run.cancel()` does. */
  signal?: AbortSignal;
  /** Who asks: scopes the cache (and quotas). */
  principal?: Principal;
  /** Values for the plan's `{ $param: name }` references. */
  params?: Record<string, unknown>;
  /**
   * The whole query's deadline in ms, merge included (overrides the plan's `deadlineMs` and
   * the executor's): optional fragments still unfinished are dropped, required ones fail
   * with TIMEOUT. Each fragment's calls carry their share of it (`ExecuteContext.budgetMs`).
   */
  deadlineMs?: number;
  /**
   * A durable run (needs the executor's `runStore`): stored as it goes, so
   * `executor.resume(runId, { principal })` can finish it in any process. Scoped by the
   * principal's id: another principal's run of the same id is another run. See README "Durable runs".
   */
  runId?: string;
  /**
   * Record every source response and timing: `run.recording()` (see README "Recorded runs,
   * replayed"). The texts of source errors are masked in it (URL passwords, `Bearer`
   * credentials, `password=`/`token=`/`api_key=` values); `{ redact }` adds a redactor of
   * yours after those, `{ redact: false }` keeps the texts as they were.
   */
  record?: boolean | RecordOptions;
}

/** `run(plan, { record: { redact } })`. */
export interface RecordOptions {
  /** Applied to each recorded error text after the default masking; `false`: no masking at all. */
  redact?: false | ((text: string) => string);
}

/** A running query: its actor, its live events and progress, and its result. */
export interface QueryRun {
  /** The plan's id: every run of one plan shares it. */
  readonly queryId: string;
  /**
   * This run's own id, on each of its events and its result: the durable run's `runId`,
   * else a random UUID. Runs of one plan that overlap share `queryId`, never `runId`.
   */
  readonly runId: string;
  /** The XState actor of the query machine (started on the next microtask). */
  readonly actor: Actor<QueryMachine>;
  /** Every event of this run from now on; completes after `query.done` / `query.failed`. */
  readonly events$: Observable<ExecutionEvent>;
  /** The run's progress; a late subscriber gets the latest value first. */
  readonly progress$: Observable<Progress>;
  /** Resolves with the result (status `failed` under fail-fast); rejects with `CANCELLED`. */
  readonly result: Promise<QueryResult>;
  /** Stops the run: every running source call is aborted; `result` rejects with `CANCELLED`. */
  cancel(reason?: string | Error): void;
  /**
   * The merged rows in batches. Called before the run starts (right after `run()`) on a
   * merge tree that can stream, rows flow as they arrive and are not kept in `result.rows`;
   * otherwise the batches are cut from the finished result. Leaving the loop (`break`,
   * `return()`) stops the sources; so does the collector taking an iterator that was dropped
   * unfinished, which until then holds them paused (give such a run a deadline).
   */
  rows(batchSize?: number): AsyncIterableIterator<Row[]>;
  /**
   * With `record: true`: every source call so far (all of them once `result` has settled),
   * as a JSON-serialisable `Recording` for `executor.replay()`; otherwise `undefined`.
   */
  recording(): Recording | undefined;
}

/** What a run needs from its executor. @internal */
export interface RunRuntime {
  options: ResolvedExecutorOptions;
  /** The executor's `inspect`, guarded (see inspect.ts); undefined without one. */
  inspect: Inspect | undefined;
  clock: Clock;
  /** The clock as an RxJS scheduler (retry delays). */
  scheduler: SchedulerLike;
  sources: ReadonlyMap<string, SourceExecutor>;
  globalLane: Lane;
  sourceLane(name: string): Lane;
  guardsOf(name: string): SourceGuards;
  /** The run's admission: its per-query row accounting and running-query slot. */
  ticket?: QuotaTicket;
  /** The result cache as this run sees it; undefined without a cache. */
  cache?: RunCache;
  /** The executor's `events$`. */
  executorEvents: Subject<ExecutionEvent>;
  /** The query machine for a number of levels (src/ reaches machines/ only through executor.ts). */
  machineFor(levels: number): QueryMachine;
  onFinished(run: QueryRun): void;
  /** A durable run's store side (`runId`); absent otherwise. */
  durable?: DurableHooks;
  /** A recorded run's recorder (`record: true`); absent otherwise. */
  recorder?: Recorder;
  /** Retry jitter's random source (a recording's or a replay's); Math.random when absent. */
  random?: () => number;
}
