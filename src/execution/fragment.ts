import { type Observable, defer, from, map, mergeMap, throwError, timer, toArray, type Subscription } from 'rxjs';
import type { FragmentError } from '../errors.js';
import type { Row } from '../data/row.js';
import type { FragmentDroppedEvent, FragmentFailedEvent, FragmentSucceededEvent } from '../progress/events.js';
import type { PreparedFragment } from '../run/prepare.js';
import type { AttemptListener, AttemptOutput } from './attempt.js';
import { bindCalls, type BoundCall } from './bind.js';
import { toFragmentError } from './classify.js';
import type { TimerHandle } from './clock.js';
import { retryFits } from './deadline.js';
import type { SourceEnv } from './env.js';
import { newTry, try$, type HedgeOwner, type HedgePolicy, type Try } from './hedge.js';
import { FragmentReports } from './fragment-reports.js';
import { fragmentTimeout } from './fragment-timeout.js';
import { BatchTally, boundedSink, checkFragmentLimits, withCountedBytes } from './fragment-limits.js';
import { waitForKey } from './key-wait.js';
import { combine, outcomeOf, type FragmentOutcome } from './outcome.js';
import { backoffDelay, laterTries, retrying } from './retry.js';
import type { SinkOptions } from './source-call.js';

const ONE_BATCH = { index: 0, count: 1 } as const;

/**
 * One fragment of one run, through its source's pipeline: bind upstream values → cache
 * lookup (or join an identical in-flight load) → one call per batch, each tried under the
 * lanes, the timeout and the retry policy (combined with RxJS when there are several) →
 * rows stored → one settle event (`fragment.succeeded` or `fragment.failed`), handed to
 * `settle`. It never throws: a failure is an event. `stop()` aborts every running call.
 */
export class FragmentTask extends FragmentReports implements HedgeOwner, AttemptListener {
  readonly timeoutMs: number;
  readonly hedge: HedgePolicy | undefined;
  streaming: SinkOptions | undefined;
  streamed = false;
  #settled = false;
  #subscription: Subscription | undefined;
  /** The first try of a lone, uncached call: run without an Observable. */
  #attempt: Try | undefined;
  #deadline: TimerHandle | undefined;
  /** Ends the wait for a cache key whose source version is still coming (see key-wait.ts). */
  #keyWait: (() => void) | undefined;
  /** When it must be done, in ms since the query started: its own deadline or its budget, the earlier. */
  #endAt = Infinity;
  #budgetMs: number | undefined; // its share of the query's deadline, when the query has one
  /** A timed-out try whose retry did not fit in the time left: an optional fragment failing with it is dropped. */
  #outOfTime: FragmentError | undefined;
  /** Source calls its bound query splits into (its batches). */
  #batches = 1;
  /** Streamed calls whose source has nothing more to give (see `leave`). */
  #ended = 0;

  constructor(
    env: SourceEnv,
    prepared: PreparedFragment,
    readonly settle: (event: FragmentSucceededEvent | FragmentFailedEvent | FragmentDroppedEvent) => void,
  ) {
    super(env, prepared);
    this.timeoutMs = prepared.timeoutMs;
    this.hedge = prepared.hedge;
  }

  start(): void {
    const env = this.env;
    const p = this.prepared;
    this.startedAt = env.at();
    if (env.events.wanted) env.events.emit({ type: 'fragment.queued', queryId: env.queryId, runId: env.runId, at: this.startedAt, fragmentId: this.id, source: env.sourceName, level: this.level });
    // Its rows could reach nobody (the reader of run.rows() left): not bound, not called.
    if (env.unwanted(this.index)) return this.#succeed({ rows: [], count: 0, attempts: 0, calls: 0, limited: 'satisfied' }, false);
    let calls: readonly BoundCall[];
    try {
      calls = p.staticCalls ?? bindCalls(p.fragment, env.bind, p.path, p.refs);
    } catch (error) {
      this.#fail(error);
      return;
    }
    this.#batches = calls.length;
    const stream = env.streamOf(this.index);
    if (stream) {
      const counted = boundedSink(stream.sink, env.limits, calls.length, { fragmentId: this.id, source: env.sourceName }, (b) => (env.account(this.id, b), (this.rowsStreamed += b.length), env.streamed?.(this.index, b.length)));
      this.streaming = { sink: counted, retain: stream.retain, onFirstBatch: () => (this.streamed = true), onEnd: () => this.#ended++ };
      if (stream.satisfied()) calls = [];
    }
    if (calls.length === 0) {
      this.#succeed({ rows: [], count: 0, attempts: 0, calls: 0, ...(stream ? { limited: 'satisfied' as const } : {}) }, false);
      return;
    }
    if (p.deadlineMs !== undefined) this.#endAt = this.startedAt + p.deadlineMs;
    const query = env.deadline;
    if (query) {
      // Never below 0: time the engine itself spent before this start (a process's first run
      // builds and compiles its machinery) does not fail a fragment untried. It gets its call;
      // one that must wait is cut at the next turn of the event loop, with the query's timer.
      const budget = Math.max(0, query.budgetFor(this.index, this.startedAt));
      this.#budgetMs = budget;
      env.budgeted?.(this.index, budget);
      if (this.startedAt + budget < this.#endAt) this.#endAt = this.startedAt + budget;
    }
    if (this.#endAt !== Infinity) this.#deadline = env.clock.setTimeout(() => this.#passDeadline(), Math.max(0, this.#endAt - this.startedAt));
    const cache = p.cache && !stream ? env.cache : undefined;
    if (!cache) {
      this.#load(calls, undefined);
      return;
    }
    const key = cache.keyOf(this.index, calls);
    if (typeof key === 'string') this.#lookup(calls, key);
    else if (key === undefined) this.#load(calls, undefined);
    else
      this.#keyWait = waitForKey(key, this.env.clock, this.timeoutMs, {
        key: (k) => (k === undefined ? this.#load(calls, undefined) : this.#lookup(calls, k)),
        late: () => (this.cacheUnavailable(`the version of source "${this.env.sourceName}" did not answer within ${this.timeoutMs} ms`), this.#load(calls, undefined)),
        failed: (error) => this.#fail(error),
      });
  }

  /** Aborts whatever is still running; nothing is settled after it. */
  stop(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#clearDeadline();
    this.#keyWait?.();
    this.#attempt?.stop();
    this.#subscription?.unsubscribe();
  }

  /**
   * Its rows can reach nobody any more (the reader of `run.rows()` left): whatever it still
   * runs or waits for is aborted or withdrawn at once, and it settles cut short with the rows it streamed.
   * One whose sources have all given their last rows is left to settle as it is about to.
   */
  leave(): void {
    if (this.#settled || (this.streaming && this.#ended >= this.#batches)) return;
    this.stop();
    this.settle(this.succeeded({ rows: [], count: this.rowsStreamed, attempts: this.maxAttempts, calls: this.callsStarted, limited: 'stopped' }, false, this.env.at()));
  }

  #lookup(calls: readonly BoundCall[], key: string): void {
    if (this.#settled) return;
    const cache = this.env.cache!;
    const local = cache.peek(this.index, key, this.env.fits);
    if (local) {
      this.#cached(local);
      return;
    }
    cache
      .get(this.index, key, (reason) => this.cacheUnavailable(reason), this.env.fits)
      .then((hit) => (hit ? this.#cached(hit) : this.#load(calls, key)), (error: unknown) => this.#fail(error));
  }

  /** A hit within the run's bounds (`env.fits`: one stored under looser ones is a miss, its call held to them by its source). */
  #cached(rows: Row[]): void {
    if (this.#settled) return;
    const env = this.env;
    if (env.events.wanted) env.events.emit({ type: 'fragment.cached', queryId: env.queryId, runId: env.runId, at: env.at(), fragmentId: this.id, source: env.sourceName, level: this.level, rowCount: rows.length });
    this.#succeed({ rows, count: rows.length, attempts: 0, calls: 0 }, true);
  }

  #load(calls: readonly BoundCall[], key: string | undefined): void {
    if (this.#settled) return;
    if (calls.length === 1 && key === undefined) {
      // The common case, and the cheapest: one call, no cache, no Observable until a retry.
      this.#attempt = newTry(this, calls[0]!, ONE_BATCH, 1, this);
      this.#attempt.start();
      return;
    }
    let load$: Observable<FragmentOutcome> = calls.length === 1 ? this.#call$(calls[0]!, ONE_BATCH).pipe(map(outcomeOf)) : this.#batches$(calls);
    // False when it joined a load in flight: it made no call (the attempts and calls are the starter's).
    let own = key === undefined;
    if (key !== undefined) {
      const cache = this.env.cache!;
      // Stored once per load, on success; every caller gets the stored (frozen) rows.
      const mine$ = load$.pipe(map((outcome) => ({ ...outcome, rows: withCountedBytes(cache.set(this.index, key, outcome.rows), outcome.bytes) })));
      load$ = cache.share(this.index, key, defer(() => ((own = true), mine$)), this.#endAt);
    }
    this.#subscription = load$.subscribe({ next: (o) => this.#succeed(own ? o : { ...o, attempts: 0, calls: 0, tallied: false }, false), error: (error: unknown) => this.#fail(error) });
    // Subscribing starts the load at once unless one was in flight: then this one waits on it.
    if (!own && !this.#settled) this.joined();
  }

  /** Every batch's call, at most all at once; each batch counted as it answers (unless streamed: its sink counts). */
  #batches$(calls: readonly BoundCall[]): Observable<FragmentOutcome> {
    const tally = this.streaming ? undefined : new BatchTally(this.env.limits, { fragmentId: this.id, source: this.env.sourceName }, (rows) => this.env.account(this.id, rows));
    return from(calls).pipe(
      // Counted first: the batch that passes a bound fails the fragment rather than ending its span as a success.
      mergeMap((call, i, batch = { index: i, count: calls.length }) => this.#call$(call, batch).pipe(map((out) => (tally?.add(out.rows, out.bytes), this.batchSucceeded(batch, out.attempts, out.count), { out, i })))),
      toArray(),
      map((parts) => ({ ...combine(parts.sort((a, b) => a.i - b.i).map((p) => p.out)), tallied: tally !== undefined })),
    );
  }

  attemptDone(output: AttemptOutput): void {
    this.#attempt = undefined;
    this.#succeed(outcomeOf(output), false);
  }

  attemptError(error: FragmentError): void {
    const first = this.#attempt!;
    this.#attempt = undefined;
    if (this.#settled) return;
    this.#subscription = laterTries(error, (n) => try$(this, first.bound, ONE_BATCH, n), (e, retry) => this.#delayFor(e as FragmentError, retry, ONE_BATCH, first.bound.query), this.prepared.retry.attempts).subscribe({
      next: (output) => this.#succeed(outcomeOf(output), false),
      error: (e: unknown) => this.#fail(e),
    });
  }

  /** Every try of one call: the first on its own, the rest through RxJS's `retry`. */
  #call$(call: BoundCall, batch: { index: number; count: number }): Observable<AttemptOutput> {
    const attempts = this.prepared.retry.attempts;
    if (attempts <= 1) return try$(this, call, batch, 1);
    return retrying((n) => try$(this, call, batch, n), (error, retry) => this.#delayFor(error as FragmentError, retry, batch, call.query), attempts);
  }

  #delayFor(error: FragmentError, retry: number, batch: { index: number; count: number }, query: unknown): Observable<unknown> {
    const env = this.env;
    if (!error.retryable || this.streamed) return throwError(() => error);
    const refused = this.refusedRetry(error, query);
    if (refused) return refused;
    const delayMs = backoffDelay(this.prepared.retry, retry, env.random, error.retryAfterMs);
    const left = this.#endAt - env.at();
    if (left !== Infinity && !retryFits(delayMs, env.latency?.estimate(), left)) {
      // Not started: it could not finish before the fragment's deadline or budget. An optional
      // fragment is dropped for a try that timed out; a source's own failure stays a failure.
      if (error.code === 'TIMEOUT') this.#outOfTime = error;
      if (error.retryAfterMs === undefined || error.retryAfterMs < delayMs) return throwError(() => error);
      // The server asked for a wait that would pass the deadline: fail now, saying so.
      const what = this.#budgetMs === undefined || this.#endAt < this.startedAt + this.#budgetMs ? `the fragment's ${this.prepared.deadlineMs} ms deadline` : `its ${Math.round(this.#budgetMs)} ms budget`;
      return this.giveUp(error, error.code, `${error.message} (the server asked to retry after ${error.retryAfterMs} ms, past ${what})`);
    }
    const budget = env.guards.budget;
    if (budget && !budget.trySpend(error.code === 'TIMEOUT')) {
      return this.giveUp(error, 'RETRY_BUDGET_EXHAUSTED', `source "${env.sourceName}" has spent its retry budget; not retrying: ${error.message}`);
    }
    env.retried(this.index);
    if (env.events.wanted) env.events.emit({ type: 'fragment.retrying', queryId: env.queryId, runId: env.runId, at: env.at(), fragmentId: this.id, source: env.sourceName, level: this.level, attempt: retry + 1, batch, delayMs });
    return timer(delayMs, env.scheduler);
  }

  remainingMs(): number { return this.#endAt === Infinity ? Infinity : this.#endAt - this.env.at(); }

  #succeed(outcome: FragmentOutcome, cached: boolean): void {
    if (this.#settled) return;
    const env = this.env;
    try {
      // Batches are bounded one by one at the source: their sum here, unless counted as they came (BatchTally).
      checkFragmentLimits(outcome, env.limits, outcome.tallied ? 1 : this.#batches, { fragmentId: this.id, source: env.sourceName }, cached);
      if (!cached && !this.streaming && !outcome.tallied) env.account(this.id, outcome.rows); // a streamed one counted each batch (boundedSink)
    } catch (error) {
      return this.#fail(error);
    }
    this.#settled = true;
    this.#clearDeadline();
    env.store(this.index, outcome.rows);
    const at = env.at();
    if (!cached && outcome.calls > 0 && outcome.callMs !== undefined) env.latency?.record(outcome.callMs);
    this.settle(this.succeeded(outcome, cached, at));
  }

  #fail(raw: unknown, deadline = false): void {
    if (this.#settled) return;
    if (this.#outOfTime !== undefined && raw === this.#outOfTime && this.prepared.optional) {
      this.#drop();
      return;
    }
    this.#settled = true;
    this.#clearDeadline();
    this.#subscription?.unsubscribe();
    // A lone first try still waiting for its slots or running (its fragment's deadline or
    // budget passed): its call is aborted and its slots handed back, not left to run for nobody.
    this.#attempt?.stop(raw);
    this.#attempt = undefined;
    const env = this.env;
    const error = toFragmentError(raw, { fragmentId: this.id, sourceName: env.sourceName, source: env.source, attempt: this.maxAttempts });
    const at = env.at();
    this.settle(this.failed(error, at, deadline));
  }

  /** An optional fragment out of time: its calls are aborted, it settles as dropped. */
  #drop(): void {
    this.stop();
    this.settle(this.dropped(this.env.at()));
  }

  #passDeadline(): void {
    this.#deadline = undefined;
    if (this.prepared.optional) {
      this.#drop();
      return;
    }
    const env = this.env;
    const { deadlineMs } = this.prepared;
    const { error, own } = fragmentTimeout({ fragmentId: this.id, source: env.sourceName, attempt: this.maxAttempts, startedAt: this.startedAt, endAt: this.#endAt, deadlineMs, budgetMs: this.#budgetMs, queryDeadlineMs: env.deadline?.deadlineMs });
    this.#fail(error, !own);
  }

  #clearDeadline(): void {
    if (this.#deadline === undefined) return;
    this.env.clock.clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }
}
