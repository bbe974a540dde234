import { FragmentError, TributaryError } from '../errors.js';
import type { BoundCall } from './bind.js';
import { noteCallValues } from '../value-mask.js';
import { toFragmentError } from './classify.js';
import type { TimerHandle } from './clock.js';
import type { SourceEnv } from './env.js';
import type { LaneClient, LaneTicket, ShedReason } from './lanes.js';
import { SourceCall, type CallOutput, type SinkOptions } from './source-call.js';

/** One call's output and its tries; `hedges`: its extra (hedged) calls, if any; `callMs`: the answering call's
 * time from its slots to its answer, its source's latency (-1 streamed: its reader sets the pace). */
export type AttemptOutput = CallOutput & { attempts: number; hedges?: number; callMs: number };

/** The fragment an attempt belongs to, as the attempt sees it. */
export interface AttemptOwner {
  readonly env: SourceEnv;
  readonly index: number;
  readonly id: string;
  readonly level: number;
  readonly timeoutMs: number;
  /** Milliseconds until the fragment's (or the query's) deadline; Infinity without one. */
  remainingMs(): number;
  /** Streaming: where batches go; `onFirstBatch` marks the call as no longer retryable. */
  readonly streaming: SinkOptions | undefined;
  /** True once a batch has been handed on (a retry would hand it on twice). */
  readonly streamed: boolean;
  /** Emits `fragment.started` and tells the status table. */
  attemptStarted(attempt: number, batch: { index: number; count: number }): void;
  /** Emits `fragment.attempt.failed`. */
  attemptFailed(attempt: number, batch: { index: number; count: number }, error: FragmentError): void;
  /** Emits the circuit's transitions. */
  circuitChanged(transition: 'opened' | 'closed'): void;
  /** Emits `source.limit.changed`: this attempt's sample moved the source's adaptive limit. */
  limitChanged(previous: number, limit: number): void;
}

/**
 * Errors that say "too much load" to an adaptive limit: a timeout, or a retryable
 * SOURCE_UNAVAILABLE (connection refused or reset, 429, 503, a shed call of another client).
 */
export function isOverload(error: FragmentError): boolean {
  return error.retryable && (error.code === 'TIMEOUT' || error.code === 'SOURCE_UNAVAILABLE');
}

/** Who hears how an attempt ended (exactly once, unless it was stopped first). */
export interface AttemptListener {
  attemptDone(output: AttemptOutput): void;
  attemptError(error: FragmentError): void;
}

const enum Phase {
  WaitingForSource,
  WaitingForGlobal,
  Running,
  Ended,
}

/**
 * One try of one source call: circuit check → a slot in the source's lane, then the global
 * one → `source.execute` under the per-attempt timeout (a clock timer: the attempt fails with
 * TIMEOUT at once, whatever the source does with its aborted signal) → the slots are given
 * back. `stop()` before it ends aborts the call's signal with the run's stop reason.
 *
 * A class rather than a chain of closures: it is on every source call's path, and a try
 * that succeeds — nearly all of them — then costs a few field writes. `attempt$()` offers it
 * as an Observable where RxJS drives it (retries, batches).
 */
export class Attempt implements LaneClient {
  #phase = Phase.WaitingForSource;
  #sourceTicket: LaneTicket | undefined;
  #globalTicket: LaneTicket | undefined;
  #call: SourceCall | undefined;
  #timer: TimerHandle | undefined;
  #rejectedByCircuit = false;
  #shedByLane = false;
  /** The circuit's half-open probe, when this attempt holds it (see `CircuitBreaker.tryPass`). */
  #probe = 0;
  /** Clock time the call began, and the calls then in flight: read only for an adaptive lane. */
  #startedAt = -1;
  #inflight = 0;
  #began = 0; // clock time the call began (its slots held), for the source's latency
  /** See `ExecuteContext.budgetMs`: fixed when the call starts. */
  budgetMs: number | undefined;

  constructor(
    readonly owner: AttemptOwner,
    readonly bound: BoundCall,
    readonly batch: { index: number; count: number },
    readonly n: number,
    readonly listener: AttemptListener,
  ) {}

  start(): void {
    const pass = this.owner.env.guards.breaker?.tryPass();
    if (pass === false) {
      // An open circuit fails at once: no slot taken, no network touched, nothing recorded.
      this.#rejectedByCircuit = true;
      this.#fail(this.#circuitOpen());
      return;
    }
    if (typeof pass === 'number') this.#probe = pass;
    const lanes = this.owner.env.lanes;
    this.#sourceTicket = lanes.source.acquire(this);
    // The attempt may have ended inside `acquire`: a ticket that comes back after it is handed back.
    if (this.#ended()) this.#sourceTicket.release(true);
  }

  /** A lane's slot is ours: the source's first, then the global one, then the call goes. */
  granted(): void {
    if (this.#phase === Phase.WaitingForSource) {
      this.#phase = Phase.WaitingForGlobal;
      this.#globalTicket = this.owner.env.lanes.global.acquire(this);
      if (this.#ended()) this.#globalTicket.release(true);
      return;
    }
    if (this.#phase !== Phase.WaitingForGlobal) return;
    this.#phase = Phase.Running;
    this.#begin();
  }

  /**
   * The source's lane turned this attempt away (full queue, or waited past maxQueueMs): it
   * fails with a retryable SOURCE_UNAVAILABLE, not counted against the circuit.
   */
  shed(reason: ShedReason): void {
    this.#shedByLane = true;
    const why = reason.kind === 'queue-full' ? `${reason.maxQueued} ${reason.maxQueued === 1 ? 'call already waits' : 'calls already wait'} for it (maxQueued)` : `this call waited ${reason.maxQueueMs} ms for a slot (maxQueueMs)`;
    const owner = this.owner;
    this.#fail(
      new FragmentError('SOURCE_UNAVAILABLE', `source "${owner.env.sourceName}" is overloaded: ${why}`, {
        fragmentId: owner.id,
        source: owner.env.sourceName,
        attempt: this.n,
        retryable: true, noEffect: true, // turned away before the source saw it: even a write may be retried
      }),
    );
  }

  /** Starts the attempt on slots already held (a hedged request's extra call: see hedge.ts). */
  startHeld(sourceTicket: LaneTicket, globalTicket: LaneTicket): void {
    this.#sourceTicket = sourceTicket;
    this.#globalTicket = globalTicket;
    this.#phase = Phase.Running;
    this.#begin();
  }

  /** Stops the attempt: its call's signal fires with `reason`, by default the run's stop reason. */
  stop(reason?: unknown): void {
    if (this.#phase === Phase.Ended) return;
    this.#phase = Phase.Ended;
    this.#clearTimer();
    this.#releaseProbe();
    this.#call?.abort(reason ?? this.owner.env.abortReason());
    // Handed back on the next microtask: a stopping query releases all its slots in one sweep.
    this.#globalTicket?.release(true);
    this.#sourceTicket?.release(true);
  }

  #begin(): void {
    const owner = this.owner;
    const env = owner.env;
    // The circuit may have opened while this call waited: fail now, uncounted, rather than call a dead source.
    if (env.guards.breaker?.state() === 'open') {
      this.#rejectedByCircuit = true;
      this.#fail(this.#circuitOpen());
      return;
    }
    owner.attemptStarted(this.n, this.batch);
    const budget = Math.min(owner.streaming ? Infinity : owner.timeoutMs, owner.remainingMs());
    if (Number.isFinite(budget)) this.budgetMs = Math.max(1, Math.floor(budget));
    const lane = env.lanes.source;
    this.#began = env.clock.now();
    // A streaming call's duration is the consumer's pace as much as the source's: not a sample.
    if (lane.adaptive && !owner.streaming) {
      this.#startedAt = env.clock.now();
      this.#inflight = lane.running;
    }
    const call = new SourceCall(env.source, this.bound.query, this, owner.streaming);
    this.#call = call;
    if (Number.isFinite(owner.timeoutMs)) this.#timer = env.clock.setTimeout(() => this.#timeout(), owner.timeoutMs);
    call.run().then(
      (output) => this.#succeed(output),
      (error: unknown) => this.#fail(error),
    );
  }

  /* What the call passes to the source (see SourceCall): read off the attempt. */
  get params(): unknown[] {
    return this.bound.params;
  }
  get principal() {
    return this.owner.env.principal;
  }
  get fragmentId(): string {
    return this.owner.id;
  }
  get sourceName(): string {
    return this.owner.env.sourceName;
  }
  get limits() {
    return this.owner.env.limits;
  }
  onRemote(info: { worker: string; jobId: string }): void {
    const owner = this.owner;
    const env = owner.env;
    if (env.events.wanted) env.events.emit({ type: 'fragment.remote', queryId: env.queryId, runId: env.runId, at: env.at(), fragmentId: owner.id, source: env.sourceName, level: owner.level, attempt: this.n, batch: this.batch, ...info });
  }

  #succeed(output: CallOutput): void {
    if (this.#phase === Phase.Ended) return;
    this.#end(false);
    this.#record(true);
    if (this.#startedAt >= 0) this.#sample(false);
    this.owner.env.guards.budget?.recordSuccess(this.n > 1);
    const callMs = this.owner.streaming ? -1 : this.owner.env.clock.now() - this.#began;
    this.listener.attemptDone({ rows: output.rows, count: output.count, stopped: output.stopped, bytes: output.bytes, attempts: this.n, callMs });
  }

  #fail(raw: unknown): void {
    if (this.#phase === Phase.Ended) return;
    const owner = this.owner;
    const env = owner.env;
    const error = toFragmentError(raw, { fragmentId: owner.id, sourceName: env.sourceName, source: env.source, attempt: this.n });
    noteCallValues(error, this.bound.values, this.bound.query);
    // Only failures that say "the source is unwell" count against its circuit (a rejected query proves it answered).
    if (!this.#rejectedByCircuit && !this.#shedByLane && (!this.#call?.aborted || error.code === 'TIMEOUT')) this.#record(!error.retryable);
    // A probe that says nothing of the source (shed, aborted) lets the next call probe.
    this.#releaseProbe();
    // A failure that is not about load (a syntax error) says nothing to the adaptive limit.
    if (this.#startedAt >= 0 && isOverload(error)) this.#sample(true);
    owner.attemptFailed(this.n, this.batch, error);
    // After a failure the slots come back on the next microtask: the failure must reach its
    // fragment (a fail-fast stop, an opening circuit) before a waiting call takes the slot.
    this.#end(true);
    this.listener.attemptError(error);
  }

  #timeout(): void {
    this.#timer = undefined;
    // A streaming call is timed to its first batch; after that a slow consumer, not the
    // source, sets the pace (the fragment's deadline still bounds it).
    if (this.owner.streamed || this.#phase === Phase.Ended) return;
    const error = new TributaryError('TIMEOUT', `attempt ${this.n} of fragment "${this.owner.id}" took longer than ${this.owner.timeoutMs} ms`);
    this.#call?.abort(error);
    this.#fail(error);
  }

  #end(later: boolean): void {
    this.#phase = Phase.Ended;
    this.#clearTimer();
    this.#globalTicket?.release(later);
    this.#sourceTicket?.release(later);
  }

  #ended(): boolean {
    return this.#phase === Phase.Ended;
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    this.owner.env.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #record(success: boolean): void {
    this.#probe = 0;
    const transition = this.owner.env.guards.breaker?.record(success);
    if (transition) this.owner.circuitChanged(transition);
  }

  #releaseProbe(): void {
    if (this.#probe === 0) return;
    this.owner.env.guards.breaker?.releaseProbe(this.#probe);
    this.#probe = 0;
  }

  /** Feeds the source's adaptive limit this call's round trip. */
  #sample(overload: boolean): void {
    const env = this.owner.env;
    const startedAt = this.#startedAt;
    this.#startedAt = -1;
    const previous = env.lanes.source.sample(startedAt, env.clock.now() - startedAt, this.#inflight, overload);
    if (previous !== undefined) this.owner.limitChanged(previous, env.lanes.source.stats().limit);
  }

  #circuitOpen(): FragmentError {
    const { sourceName, guards } = this.owner.env;
    // Half-open refuses every call but its one probe: say so (not as if the cool-down had not passed).
    const why = guards.breaker?.state() === 'half-open'
      ? 'its circuit is half-open after repeated failures and its one probe call is still out'
      : 'its circuit is open after repeated failures';
    return new FragmentError('SOURCE_UNAVAILABLE', `source "${sourceName}" is unavailable: ${why}`, {
      fragmentId: this.owner.id,
      source: this.owner.env.sourceName,
      attempt: this.n,
      retryable: false,
    });
  }
}
