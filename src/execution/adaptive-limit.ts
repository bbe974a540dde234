import { seededRandom } from './seeded-random.js';

/**
 * An adaptive concurrency limit for one source's lane: TCP Vegas as Netflix's
 * concurrency-limits applies it to requests (`VegasLimit`).
 *
 * The limit is an estimate of how many calls the source serves at once before they start
 * to queue inside it. Every finished call is a sample: its round-trip time (RTT), how many
 * calls were in flight when it started, and whether it failed with an overload error. The
 * lowest RTT seen is the source's no-load RTT; a call slower than that reveals a queue of
 * `limit × (1 − rttNoLoad / rtt)` calls. No queue: grow fast (+4·log10 limit); a short
 * one (< 2·log): +log; a long one (> 4·log): shrink by its excess (at most by half); in
 * between: hold. Those steps go half way (smoothing). An overload error
 * (`SOURCE_UNAVAILABLE`, `TIMEOUT`, a 429/503) multiplies it by `backoffRatio`. The limit
 * moves at most once per round trip: a sample of a call sent before the last change is not
 * used (a burst of rejections caused by one limit counts once, as TCP cuts its window once
 * per RTT).
 *
 * Why Vegas rather than Gradient2: a federated query's sources are databases and APIs with a
 * stable unloaded latency, exactly what Vegas's no-load RTT assumes, and Vegas reacts to
 * drops, which Gradient2 ignores (it reads latency only). The no-load RTT is re-probed every
 * ~`probeMultiplier × limit` samples (with jitter) so it follows a source that got slower
 * for good.
 */
export interface AdaptiveLimit {
  /** The current limit, an integer in [min, max]. */
  readonly limit: number;
  /**
   * One finished call: when it started (clock ms), its RTT (ms), the calls in flight when it
   * started (itself included), and whether it failed with an overload error. Returns the
   * (possibly new) limit.
   */
  sample(startedAt: number, rttMs: number, inflight: number, overload: boolean): number;
}

/** The options of `createExecutor({ adaptiveConcurrency })`, every field set. */
export interface AdaptiveLimitOptions {
  /** The lowest limit (default 1). */
  min: number;
  /** The highest limit (default: the source's `maxConcurrency`, else `DEFAULT_ADAPTIVE_MAX`). */
  max?: number | undefined;
  /** Where it starts (default 4): low enough not to overload a small server. */
  initial: number;
  /** The multiplier applied on an overload error (default 0.9). */
  backoffRatio: number;
  /** Re-measure the no-load RTT about every `probeMultiplier × limit` samples (default 30). */
  probeMultiplier: number;
}

/** The highest adaptive limit of a source that declares no `maxConcurrency`. */
export const DEFAULT_ADAPTIVE_MAX = 200;

export const defaultAdaptiveOptions: AdaptiveLimitOptions = { min: 1, max: undefined, initial: 4, backoffRatio: 0.9, probeMultiplier: 30 };

/** An RTT of 0 (an instant source on a virtual clock) still counts as a sample. */
const MIN_RTT = 1e-3;
const SMOOTHING = 0.5;

class VegasLimit implements AdaptiveLimit {
  limit: number;
  #estimate: number;
  #rttNoLoad = 0;
  #probeCount = 0;
  #probeJitter: number;
  /** Clock time of the last change: calls started before it were sent under the old limit. */
  #changedAt = -Infinity;
  #now = 0;

  constructor(
    readonly min: number,
    readonly max: number,
    initial: number,
    readonly options: AdaptiveLimitOptions,
    readonly random: () => number,
  ) {
    this.#estimate = Math.max(min, Math.min(max, initial));
    this.limit = Math.floor(this.#estimate);
    this.#probeJitter = this.#jitter();
  }

  sample(startedAt: number, rttMs: number, inflight: number, overload: boolean): number {
    const rtt = Math.max(rttMs, MIN_RTT);
    this.#now = startedAt + rttMs;
    // A call sent under an older limit says nothing about the current one: at most one
    // change per round trip, as TCP Vegas adjusts its window once per RTT.
    const stale = startedAt < this.#changedAt;
    if (overload) return stale ? this.limit : this.#set(this.#estimate * this.options.backoffRatio);
    this.#probeCount++;
    if (this.#probeJitter * this.options.probeMultiplier * this.#estimate <= this.#probeCount) {
      this.#probeJitter = this.#jitter();
      this.#probeCount = 0;
      this.#rttNoLoad = rtt;
      return this.limit;
    }
    if (this.#rttNoLoad === 0 || rtt < this.#rttNoLoad) {
      this.#rttNoLoad = rtt;
      return this.limit;
    }
    // Calls far below the limit: the caller, not the source, sets the pace; do not drift up.
    if (stale || inflight * 2 < this.#estimate) return this.limit;
    const estimate = this.#estimate;
    const log = Math.max(1, Math.log10(estimate));
    const queue = Math.ceil(estimate * (1 - this.#rttNoLoad / rtt));
    // Vegas's thresholds, scaled with the limit as Netflix does (alpha 2·log, beta 4·log,
    // the low ends of Vegas's usual 2–3 and 4–6: a source's latency can rise steeply).
    const alpha = 2 * log;
    const beta = 4 * log;
    // No queue at all: grow fast (by beta), as Vegas does below its threshold.
    if (queue <= 0) return this.#smooth(estimate + beta);
    if (queue < alpha) return this.#smooth(estimate + log);
    // A long queue: shrink by its excess over beta, at most by half, in one round trip
    // (Vegas's one step of log(limit) per round trip would take many slow ones).
    if (queue > beta) return this.#smooth(Math.max(estimate / 2, estimate - (queue - beta)));
    return this.limit;
  }

  /**
   * Moves half way to `target` (Netflix's `smoothing` at 0.5): a latency-driven step is a
   * guess from one sample, and going all the way made the limit swing around the knee.
   */
  #smooth(target: number): number {
    return this.#set(this.#estimate + SMOOTHING * (target - this.#estimate));
  }

  #set(estimate: number): number {
    this.#estimate = Math.max(this.min, Math.min(this.max, estimate));
    const limit = Math.floor(this.#estimate);
    if (limit !== this.limit) this.#changedAt = this.#now;
    this.limit = limit;
    return limit;
  }

  #jitter(): number {
    return 0.5 + this.random() * 0.5;
  }
}

/**
 * A Vegas limit between `min` and `max` starting at `initial` (clamped). `random` jitters
 * the probe interval (tests pass a seeded one).
 */
export function createAdaptiveLimit(options: AdaptiveLimitOptions, max: number, random: () => number = seededRandom(0x5eed)): AdaptiveLimit {
  const min = Math.min(options.min, max);
  return new VegasLimit(min, max, options.initial, options, random);
}
