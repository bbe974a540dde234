import type { FragmentError, TributaryError } from '../errors.js';

/**
 * The typed events of one query, a discriminated union on `type`. Every event carries the
 * query's id and `at`, the milliseconds since the query started. Events hold metadata,
 * never rows.
 */
interface EventBase {
  /** The plan's id: every run of one plan shares it. */
  queryId: string;
  /**
   * This run's id, unique to it: a durable run's `runId`, else a random UUID. Runs of one
   * plan that overlap share `queryId`, never `runId`.
   */
  runId: string;
  /** Milliseconds since the query started. */
  at: number;
}

interface FragmentEventBase extends EventBase {
  fragmentId: string;
  source: string;
  level: number;
}

export type QueryStartedEvent = EventBase & { type: 'query.started'; fragments: number; levels: number };
/**
 * A level starts: emitted once per level, lowest first, before any event of one of its
 * fragments (under `eager` a level may start while the machine's state still names a lower
 * one). `fragments`: how many fragments the level has, so a reader of the events alone can
 * tell when a level has finished (see `Progress.level`).
 */
export type LevelStartedEvent = EventBase & { type: 'level.started'; level: number; fragments: number };
export type FragmentQueuedEvent = FragmentEventBase & { type: 'fragment.queued' };
/** One source call is starting: one per attempt of each batch. */
export type FragmentStartedEvent = FragmentEventBase & {
  type: 'fragment.started';
  attempt: number;
  batch: { index: number; count: number };
};
export type FragmentAttemptFailedEvent = FragmentEventBase & {
  type: 'fragment.attempt.failed';
  attempt: number;
  /** The batch whose call failed, as in its `fragment.started`. */
  batch: { index: number; count: number };
  retryable: boolean;
  error: FragmentError;
};
export type FragmentRetryingEvent = FragmentEventBase & {
  type: 'fragment.retrying';
  /** The attempt about to be made. */
  attempt: number;
  /** The batch whose call is retried, as in its `fragment.started`. */
  batch: { index: number; count: number };
  delayMs: number;
};
/**
 * One batch of a batched bind join answered (`attempt`: its try that did, `rowCount`: its rows);
 * the fragment succeeds once every batch has. Only for fragments of more than one batch.
 */
export type FragmentBatchSucceededEvent = FragmentEventBase & {
  type: 'fragment.batch.succeeded';
  attempt: number;
  batch: { index: number; count: number };
  rowCount: number;
};
/**
 * The fragment joined an identical load already in flight (another run's, or another
 * fragment's, under the same cache key): it makes no call of its own and gets no
 * `fragment.started`, but counts as running until that load settles.
 */
export type FragmentJoinedEvent = FragmentEventBase & { type: 'fragment.joined' };
export type FragmentCachedEvent = FragmentEventBase & { type: 'fragment.cached'; rowCount: number };
/** An attempt ran on a remote worker (a BullMQ job, see `src/remote`): which worker, which job. */
export type FragmentRemoteEvent = FragmentEventBase & {
  type: 'fragment.remote';
  attempt: number;
  /** The batch whose call the job runs, as in its `fragment.started`. */
  batch: { index: number; count: number };
  worker: string;
  jobId: string;
};
export type FragmentSucceededEvent = FragmentEventBase & {
  type: 'fragment.succeeded';
  rowCount: number;
  /**
   * Set when a satisfied limit cut its rows short: `stopped` (its source was stopped once
   * enough rows had streamed) or `satisfied` (not run at all: nobody needed its rows).
   */
  limited?: 'stopped' | 'satisfied';
  attempts: number;
  /** Source calls made: attempts summed over batches; 0 when served from the cache. */
  calls: number;
  cached: boolean;
  startedAt: number;
  durationMs: number;
};
export type FragmentFailedEvent = FragmentEventBase & {
  type: 'fragment.failed';
  /** Set when the query's deadline, or the fragment's share of it, cut it short. */
  reason?: 'deadline';
  attempts: number;
  /** Source calls started, every failed try included. */
  calls: number;
  /** Rows it had already handed on (streamed) before it failed; 0 when it streamed none. */
  rowCount: number;
  startedAt: number;
  durationMs: number;
  error: FragmentError;
};
export type FragmentSkippedEvent = FragmentEventBase & {
  type: 'fragment.skipped';
  /** The upstream fragment whose failure made this one impossible. */
  because: string;
};
/**
 * An optional fragment was dropped: the query's deadline (or the fragment's share of it) ran
 * out before it finished. Its calls were aborted, its dependents are skipped, the merge sees it empty.
 */
export type FragmentDroppedEvent = FragmentEventBase & {
  type: 'fragment.dropped';
  reason: 'deadline';
  attempts: number;
  /** Rows it had already handed on (streamed) before it was dropped; 0 when it streamed none. */
  rowCount: number;
  /** Undefined when it never started. */
  startedAt: number | undefined;
  durationMs: number;
};
/**
 * The run ended (cancelled, failed fast, past its deadline, its executor closed) before this
 * fragment settled: its calls were aborted, or it never got its turn (`startedAt` undefined).
 * Emitted just before `query.failed`, so every fragment of a run gets exactly one terminal
 * event: `fragment.succeeded`, `.failed`, `.skipped`, `.dropped` or `.cancelled`.
 */
export type FragmentCancelledEvent = FragmentEventBase & {
  type: 'fragment.cancelled';
  attempts: number;
  /** Source calls started, aborted ones included. */
  calls: number;
  /** Rows it had already handed on (streamed) before it was stopped. */
  rowCount: number;
  startedAt: number | undefined;
  durationMs: number;
};
/** A source's circuit opened after consecutive failures: its calls now fail at once. */
export type SourceCircuitOpenedEvent = FragmentEventBase & { type: 'source.circuit.opened'; failures: number };
/** A probe call succeeded and the source's circuit closed again. */
export type SourceCircuitClosedEvent = FragmentEventBase & { type: 'source.circuit.closed' };
/**
 * A source's adaptive concurrency limit (`adaptiveConcurrency`) moved, after a call of this
 * fragment was measured: `limit` calls of that source may now run at once.
 */
export type SourceLimitChangedEvent = FragmentEventBase & { type: 'source.limit.changed'; previous: number; limit: number };
/**
 * A call of this fragment had not answered after `afterMs`: a second, hedged call of the
 * same statement started (`hedge`). The first answer wins; the other call is aborted.
 */
export type FragmentHedgedEvent = FragmentEventBase & {
  type: 'fragment.hedged';
  attempt: number;
  batch: { index: number; count: number };
  afterMs: number;
};
/**
 * One call of a hedged pair (`call`: the first one, `primary`, or the extra one, `hedge`) ended
 * without ending its try: `lost` — the other call answered first, so this one was stopped (its
 * signal fired with CANCELLED; not a failure); `failed` — it failed (`error`) while the other
 * still ran, which may yet answer (if it fails too, that is the try's `fragment.attempt.failed`).
 */
export type FragmentHedgeEndedEvent = FragmentEventBase & {
  type: 'fragment.hedge.ended';
  attempt: number;
  batch: { index: number; count: number };
  call: 'primary' | 'hedge';
  outcome: 'lost' | 'failed';
  error?: FragmentError;
};
/**
 * The cache's shared store (e.g. Redis) could not answer this fragment's lookup within its
 * bounded wait, or its source's `version()` (part of the key) did not answer within the
 * fragment's `timeoutMs`: the lookup counts as a miss and the fragment runs against its source.
 */
export type CacheUnavailableEvent = FragmentEventBase & { type: 'cache.unavailable'; reason: string };
export type MergeStartedEvent = EventBase & { type: 'merge.started' };
export type QueryDoneEvent = EventBase & {
  type: 'query.done';
  status: 'ok' | 'partial';
  rowCount: number;
  durationMs: number;
};
export type QueryFailedEvent = EventBase & { type: 'query.failed'; error: TributaryError; durationMs: number };

export type ExecutionEvent =
  | QueryStartedEvent
  | LevelStartedEvent
  | FragmentQueuedEvent
  | FragmentStartedEvent
  | FragmentAttemptFailedEvent
  | FragmentRetryingEvent
  | FragmentBatchSucceededEvent
  | FragmentJoinedEvent
  | FragmentCachedEvent
  | FragmentRemoteEvent
  | FragmentSucceededEvent
  | FragmentFailedEvent
  | FragmentSkippedEvent
  | FragmentDroppedEvent
  | FragmentCancelledEvent
  | SourceCircuitOpenedEvent
  | SourceCircuitClosedEvent
  | SourceLimitChangedEvent
  | FragmentHedgedEvent
  | FragmentHedgeEndedEvent
  | CacheUnavailableEvent
  | MergeStartedEvent
  | QueryDoneEvent
  | QueryFailedEvent;

export type ExecutionEventType = ExecutionEvent['type'];

/** The events a fragment's pipeline emits (they go to the query machine first). */
export type FragmentEvent = Extract<ExecutionEvent, { fragmentId: string }>;

/** Distributes Omit over a union, so each member keeps its own fields. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An event before `queryId` and `at` are stamped on it. */
export type UnstampedEvent = DistributiveOmit<ExecutionEvent, 'queryId' | 'at'>;
