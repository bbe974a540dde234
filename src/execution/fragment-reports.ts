import { type Observable, throwError } from 'rxjs';
import { FragmentError } from '../errors.js';
import type { FragmentDroppedEvent, FragmentFailedEvent, FragmentSucceededEvent } from '../progress/events.js';
import type { PreparedFragment } from '../run/prepare.js';
import { publicError } from '../value-mask.js';
import type { SourceEnv } from './env.js';
import type { FragmentOutcome } from './outcome.js';
import { retryRefusal } from './retry-safety.js';

const round = (value: number): number => Math.round(value * 1000) / 1000;

/**
 * What one fragment tells its run as it goes: the progress events its attempts report
 * (started, failed, circuit and limit changes — built only when someone listens) and the
 * one settle event it ends with. The base of `FragmentTask`, which holds the pipeline; kept
 * apart so the pipeline reads as the steps it takes.
 */
export abstract class FragmentReports {
  readonly index: number;
  readonly id: string;
  readonly level: number;
  /** When the fragment started, in ms since the query started. */
  protected startedAt = 0;
  /** The highest attempt number that started. */
  protected maxAttempts = 0;
  /** Source calls started (every try of every batch), for a failure's report. */
  protected callsStarted = 0;
  /** Rows handed to the streaming sink, for a failure's report. */
  protected rowsStreamed = 0;

  constructor(
    readonly env: SourceEnv,
    readonly prepared: PreparedFragment,
  ) {
    this.index = prepared.index;
    this.id = prepared.id;
    this.level = prepared.level;
  }

  /** Emits `fragment.started` and tells the status table. */
  attemptStarted(attempt: number, batch: { index: number; count: number }): void {
    const env = this.env;
    if (attempt > this.maxAttempts) this.maxAttempts = attempt;
    this.callsStarted++;
    const at = env.at();
    // The table keeps the fragment's own start (when it was queued), as its settle reports it.
    env.started(this.index, attempt, this.startedAt);
    if (env.events.wanted) env.events.emit({ type: 'fragment.started', queryId: env.queryId, runId: env.runId, at, fragmentId: this.id, source: env.sourceName, level: this.level, attempt, batch });
  }

  /**
   * A hedged extra call started: a call of its own (in `calls`, so a fragment that fails or is
   * cancelled still counts it, as its result does when it succeeds), not an attempt, and no
   * `fragment.started` (its `fragment.hedged` says it).
   */
  extraCallStarted(attempt: number): void {
    this.callsStarted++;
    this.env.started(this.index, attempt, this.startedAt);
  }

  /** Emits `fragment.batch.succeeded`: one batch of several answered (its spans end there). */
  batchSucceeded(batch: { index: number; count: number }, attempt: number, rowCount: number): void {
    const env = this.env;
    if (env.events.wanted) env.events.emit({ type: 'fragment.batch.succeeded', queryId: env.queryId, runId: env.runId, at: env.at(), fragmentId: this.id, source: env.sourceName, level: this.level, attempt, batch, rowCount });
  }

  /** Emits `fragment.joined` and tells the status table: it shares a load in flight. */
  protected joined(): void {
    const env = this.env;
    env.joined(this.index);
    if (env.events.wanted) env.events.emit({ type: 'fragment.joined', queryId: env.queryId, runId: env.runId, at: env.at(), fragmentId: this.id, source: env.sourceName, level: this.level });
  }

  /** Emits `fragment.attempt.failed`, its error masked (see value-mask.ts). */
  attemptFailed(attempt: number, batch: { index: number; count: number }, error: FragmentError): void {
    const env = this.env;
    if (env.events.wanted) {
      env.events.emit({ type: 'fragment.attempt.failed', queryId: env.queryId, runId: env.runId, at: env.at(), fragmentId: this.id, source: env.sourceName, level: this.level, attempt, batch, retryable: error.retryable, error: publicError(error, env.params) });
    }
  }

  /** Emits the circuit's transitions. */
  circuitChanged(transition: 'opened' | 'closed'): void {
    const env = this.env;
    if (!env.events.wanted) return;
    const base = { queryId: env.queryId, runId: env.runId, at: env.at(), fragmentId: this.id, source: env.sourceName, level: this.level };
    if (transition === 'opened') env.events.emit({ type: 'source.circuit.opened', ...base, failures: env.guards.breaker?.consecutiveFailures() ?? 0 });
    else env.events.emit({ type: 'source.circuit.closed', ...base });
  }

  /** Emits `source.limit.changed`: an attempt's sample moved the source's adaptive limit. */
  limitChanged(previous: number, limit: number): void {
    const env = this.env;
    if (env.events.wanted) env.events.emit({ type: 'source.limit.changed', queryId: env.queryId, runId: env.runId, at: env.at(), fragmentId: this.id, source: env.sourceName, level: this.level, previous, limit });
  }

  /** Emits `cache.unavailable`: the shared cache could not answer; the fragment loads instead. */
  cacheUnavailable(reason: string): void {
    const env = this.env;
    if (env.events.wanted) env.events.emit({ type: 'cache.unavailable', queryId: env.queryId, runId: env.runId, at: env.at(), fragmentId: this.id, source: env.sourceName, level: this.level, reason });
  }

  protected succeeded(outcome: FragmentOutcome, cached: boolean, at: number): FragmentSucceededEvent {
    const env = this.env;
    const event: FragmentSucceededEvent = {
      type: 'fragment.succeeded',
      queryId: env.queryId, runId: env.runId,
      at,
      fragmentId: this.id,
      source: env.sourceName,
      level: this.level,
      rowCount: outcome.count,
      attempts: outcome.attempts,
      calls: outcome.calls,
      cached,
      startedAt: this.startedAt,
      durationMs: round(at - this.startedAt),
    };
    if (outcome.limited) event.limited = outcome.limited;
    return event;
  }

  /**
   * The settle event of a failure. It goes to the query machine (its snapshot, `inspect`) and
   * to `events$`, so it carries the masked copy of the error; the run's result takes the
   * original back (`originalError`).
   */
  protected failed(error: FragmentError, at: number, deadline: boolean): FragmentFailedEvent {
    const env = this.env;
    const event: FragmentFailedEvent = {
      type: 'fragment.failed',
      queryId: env.queryId, runId: env.runId,
      at,
      fragmentId: this.id,
      source: env.sourceName,
      level: this.level,
      attempts: Math.max(this.maxAttempts, error.attempt),
      calls: this.callsStarted,
      rowCount: this.rowsStreamed,
      startedAt: this.startedAt,
      durationMs: round(at - this.startedAt),
      error: publicError(error, env.params),
    };
    if (deadline) event.reason = 'deadline';
    return event;
  }

  protected dropped(at: number): FragmentDroppedEvent {
    const env = this.env;
    return {
      type: 'fragment.dropped',
      queryId: env.queryId, runId: env.runId,
      at,
      fragmentId: this.id,
      source: env.sourceName,
      level: this.level,
      reason: 'deadline',
      attempts: this.maxAttempts,
      rowCount: this.rowsStreamed,
      startedAt: this.startedAt,
      durationMs: round(at - this.startedAt),
    };
  }

  /** Ends the retries with a non-retryable error that says why, carrying the last failure. */
  protected giveUp(error: FragmentError, code: FragmentError['code'], message: string): Observable<never> {
    const { retryAfterMs } = error;
    return throwError(
      () =>
        new FragmentError(code, message, {
          fragmentId: this.id,
          source: this.env.sourceName,
          attempt: error.attempt,
          retryable: false,
          cause: error,
          driverCode: error.driverCode,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        }),
    );
  }

  /**
   * The failure of a call that must not run again though its error is retryable (it may
   * write and may have run: see retry-safety.ts), saying why; undefined when it may.
   */
  protected refusedRetry(error: FragmentError, query: unknown): Observable<never> | undefined {
    const p = this.prepared;
    const why = retryRefusal(error, this.env.source, query, p.retry.idempotent || p.hedge?.idempotent === true);
    return why === undefined ? undefined : this.giveUp(error, error.code, `${error.message} (${why})`);
  }
}
