import { Observable } from 'rxjs';
import { TributaryError, type FragmentError } from '../errors.js';
import type { HedgeOptionsInput } from '../plan/schema.js';
import type { SourceExecutor } from '../sources/source.js';
import { Attempt, type AttemptListener, type AttemptOutput, type AttemptOwner } from './attempt.js';
import type { BoundCall } from './bind.js';
import type { TimerHandle } from './clock.js';
import type { HedgeStats } from './hedge-stats.js';
import { publicError } from '../value-mask.js';

/** A complete hedging policy (see `hedgeOptionsSchema`). */
export interface HedgePolicy {
  afterMs: number | undefined;
  quantile: number | undefined;
  maxExtraRatio: number;
  idempotent: boolean;
}

export const DEFAULT_HEDGE_QUANTILE = 0.95;
export const DEFAULT_MAX_EXTRA_RATIO = 0.1;

/**
 * Layers the executor's, the plan's and the fragment's `hedge` options: `false` turns
 * hedging off, an object turns it on (merged over the layers above it that were on).
 * Undefined: no hedging.
 */
export function mergeHedge(...layers: (HedgeOptionsInput | undefined)[]): HedgePolicy | undefined {
  let on: Exclude<HedgeOptionsInput, false> | undefined;
  for (const layer of layers) {
    if (layer === undefined) continue;
    if (layer === false) on = undefined;
    else on = { ...on, ...Object.fromEntries(Object.entries(layer).filter(([, v]) => v !== undefined)) };
  }
  if (!on) return undefined;
  return {
    afterMs: on.afterMs,
    quantile: on.quantile ?? (on.afterMs === undefined ? DEFAULT_HEDGE_QUANTILE : undefined),
    maxExtraRatio: on.maxExtraRatio ?? DEFAULT_MAX_EXTRA_RATIO,
    idempotent: on.idempotent ?? false,
  };
}

/** The fragment side of hedging: an attempt's owner that knows its policy. */
export interface HedgeOwner extends AttemptOwner {
  readonly hedge: HedgePolicy | undefined;
  /** Counts a hedged extra call among the fragment's calls (it emits no `fragment.started`). */
  extraCallStarted(attempt: number): void;
}

/**
 * True when a call may run twice: the fragment said so (`idempotent`), or its source says the
 * query only reads (`isReadOnly`). A source that does not tell (a custom one without
 * `isReadOnly`) is taken at the word of whoever turned `hedge` on; the built-in connectors all
 * tell, so their writes are never hedged.
 */
function hedgeable(source: SourceExecutor, query: unknown, policy: HedgePolicy): boolean {
  if (policy.idempotent) return true;
  const isReadOnly = source.isReadOnly;
  if (isReadOnly === undefined) return true;
  try {
    return isReadOnly.call(source, query) === true;
  } catch {
    return false;
  }
}

/** One try of one call: a plain `Attempt`, or a `HedgedAttempt` where the fragment hedges. */
export type Try = Attempt | HedgedAttempt;

/**
 * One try of one call, hedged when the fragment's policy allows it: a streaming call never
 * is (a batch handed on cannot be taken back), nor a call its source cannot tell is a read.
 */
export function newTry(owner: HedgeOwner, bound: BoundCall, batch: { index: number; count: number }, n: number, listener: AttemptListener): Try {
  const policy = owner.hedge;
  // The common case first, and cheapest: no hedging at all.
  if (policy === undefined) return new Attempt(owner, bound, batch, n, listener);
  const stats = owner.env.guards.hedge;
  if (stats === undefined || owner.streaming || !hedgeable(owner.env.source, bound.query, policy)) return new Attempt(owner, bound, batch, n, listener);
  return new HedgedAttempt(owner, bound, batch, n, listener, policy, stats);
}

/** One try as an Observable of its output (unsubscribing stops it): for RxJS's retry and mergeMap. */
export function try$(owner: HedgeOwner, bound: BoundCall, batch: { index: number; count: number }, n: number): Observable<AttemptOutput> {
  return new Observable<AttemptOutput>((subscriber) => {
    const attempt = newTry(owner, bound, batch, n, {
      attemptDone: (output) => {
        subscriber.next(output);
        subscriber.complete();
      },
      attemptError: (error) => subscriber.error(error),
    });
    attempt.start();
    return () => attempt.stop();
  });
}

/** Extra calls started per fragment and call (batch index), over all the call's tries. */
const extraCalls = new WeakMap<HedgeOwner, Map<number, number>>();

const enum Side {
  Primary,
  Hedge,
}

/**
 * A hedged request ("The Tail at Scale"): the call runs as usual; if it has not answered
 * `afterMs` after it began (or the source's observed latency at `quantile`), a second call
 * of the same statement starts, on a free slot of the source's lane (never waiting for
 * one: no free slot, no hedge) and within the source's `maxExtraRatio`. The first answer
 * wins and is the only one handed on; the other call is stopped, its signal fired (so its
 * connector cancels it on the server). If one call fails while the other runs, the other
 * may still answer; the try fails only when both have.
 *
 * It stands between the attempts and the fragment: the owner of both attempts (it forwards
 * what the fragment must hear, and says `fragment.hedged` for the extra call's start) and
 * their listener (it hands on the first answer).
 */
export class HedgedAttempt implements AttemptOwner {
  #primary: Attempt;
  #hedge: Attempt | undefined;
  #timer: TimerHandle | undefined;
  #began = -1;
  #ended = false;
  /** Which calls have ended (a bit per side). */
  #settled = 0;
  /** True while the extra call is being started: its `attemptStarted` is the hedge's. */
  #startingHedge = false;
  #afterMs = 0;
  #failure: { attempt: number; batch: { index: number; count: number }; error: FragmentError } | undefined;

  constructor(
    readonly owner: HedgeOwner,
    readonly bound: BoundCall,
    readonly batch: { index: number; count: number },
    readonly n: number,
    readonly listener: AttemptListener,
    readonly policy: HedgePolicy,
    readonly stats: HedgeStats,
  ) {
    this.#primary = new Attempt(this, bound, batch, n, this.#listenerFor(Side.Primary));
  }

  start(): void {
    this.#primary.start();
  }

  stop(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#clearTimer();
    this.#primary.stop();
    this.#hedge?.stop();
  }

  /* The owner the attempts see: the fragment's, with the starts intercepted. */
  get env() {
    return this.owner.env;
  }
  get index(): number {
    return this.owner.index;
  }
  get id(): string {
    return this.owner.id;
  }
  get level(): number {
    return this.owner.level;
  }
  get timeoutMs(): number {
    return this.owner.timeoutMs;
  }
  get streaming() {
    return this.owner.streaming;
  }
  get streamed(): boolean {
    return this.owner.streamed;
  }
  remainingMs(): number {
    return this.owner.remainingMs();
  }
  /**
   * Held until the attempt's listener hears of it (synchronously after): one of two calls
   * failing while the other still runs is not the try failing, so the fragment (its events,
   * its spans) hears of a failure only when both have failed, and then once.
   */
  attemptFailed(attempt: number, batch: { index: number; count: number }, error: FragmentError): void {
    this.#failure = { attempt, batch, error };
  }
  circuitChanged(transition: 'opened' | 'closed'): void {
    this.owner.circuitChanged(transition);
  }
  limitChanged(previous: number, limit: number): void {
    this.owner.limitChanged(previous, limit);
  }

  attemptStarted(attempt: number, batch: { index: number; count: number }): void {
    const env = this.owner.env;
    if (this.#startingHedge) {
      this.owner.extraCallStarted(attempt);
      if (env.events.wanted) env.events.emit({ type: 'fragment.hedged', queryId: env.queryId, runId: env.runId, at: env.at(), fragmentId: this.owner.id, source: env.sourceName, level: this.owner.level, attempt, batch, afterMs: this.#afterMs });
      return;
    }
    this.owner.attemptStarted(attempt, batch);
    this.#began = env.clock.now();
    this.stats.noteCall();
    const afterMs = this.#delay();
    if (afterMs === undefined) return;
    this.#afterMs = afterMs;
    this.#timer = env.clock.setTimeout(() => this.#startHedge(), afterMs);
  }

  /** When to hedge: `afterMs`, or the observed quantile (never below `afterMs`). */
  #delay(): number | undefined {
    const { afterMs, quantile } = this.policy;
    if (quantile === undefined) return afterMs;
    const observed = this.stats.quantile(quantile);
    if (observed === undefined) return afterMs;
    return Math.max(afterMs ?? 0, Math.ceil(observed));
  }

  #startHedge(): void {
    this.#timer = undefined;
    if (this.#ended || this.#settled !== 0 || this.owner.streamed) return;
    const env = this.owner.env;
    // A free slot of the source's lane and of the global one (`concurrency` caps every call).
    const ticket = env.lanes.source.tryAcquire();
    if (!ticket) return;
    const global = env.lanes.global.tryAcquire();
    if (!global || !this.stats.tryExtra(this.policy.maxExtraRatio)) {
      global?.release();
      ticket.release();
      return;
    }
    const hedge = new Attempt(this, this.bound, this.batch, this.n, this.#listenerFor(Side.Hedge));
    this.#hedge = hedge;
    let perCall = extraCalls.get(this.owner);
    if (!perCall) extraCalls.set(this.owner, (perCall = new Map()));
    perCall.set(this.batch.index, (perCall.get(this.batch.index) ?? 0) + 1);
    this.#startingHedge = true;
    try {
      hedge.startHeld(ticket, global);
    } finally {
      this.#startingHedge = false;
    }
  }

  #listenerFor(side: Side): AttemptListener {
    return {
      attemptDone: (output) => this.#done(side, output),
      attemptError: (error) => this.#error(side, error),
    };
  }

  #done(side: Side, output: AttemptOutput): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#clearTimer();
    if (this.#began >= 0) this.stats.recordLatency(this.owner.env.clock.now() - this.#began);
    const loser = side === Side.Primary ? this.#hedge : this.#primary;
    loser?.stop(new TributaryError('CANCELLED', `a hedged call of fragment "${this.owner.id}" answered first`));
    // The loser still ran (a failed one has said so already): it lost, its own span ends as such.
    if (loser !== undefined && (this.#settled & (1 << (1 - side))) === 0) this.#callEnded(side === Side.Primary ? Side.Hedge : Side.Primary, 'lost');
    if (side === Side.Hedge) this.stats.noteWin();
    // The extra calls of this call's tries so far (a failed try's hedge ran too).
    const hedges = extraCalls.get(this.owner)?.get(this.batch.index);
    this.listener.attemptDone(hedges === undefined ? output : { ...output, hedges });
  }

  #error(side: Side, error: FragmentError): void {
    const failure = this.#failure;
    this.#failure = undefined;
    if (this.#ended) return;
    this.#settled |= 1 << side;
    const other = side === Side.Primary ? this.#hedge : this.#primary;
    const otherRunning = other !== undefined && (this.#settled & (1 << (1 - side))) === 0;
    if (otherRunning) {
      this.#callEnded(side, 'failed', failure?.error ?? error);
      return;
    }
    this.#ended = true;
    this.#clearTimer();
    if (failure) this.owner.attemptFailed(failure.attempt, failure.batch, failure.error);
    this.listener.attemptError(error);
  }

  /** `fragment.hedge.ended`: one call of the pair ended while the try goes on (or was won by the other); its error masked, as every event's. */
  #callEnded(side: Side, outcome: 'lost' | 'failed', error?: FragmentError): void {
    const env = this.owner.env;
    if (!env.events.wanted) return;
    const call = side === Side.Primary ? 'primary' : 'hedge';
    env.events.emit({ type: 'fragment.hedge.ended', queryId: env.queryId, runId: env.runId, at: env.at(), fragmentId: this.owner.id, source: env.sourceName, level: this.owner.level, attempt: this.n, batch: this.batch, call, outcome, ...(error ? { error: publicError(error, env.params) } : {}) });
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    this.owner.env.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
