/**
 * An adaptive concurrency limit for one source's lane: TCP Vegas as Netflix's
 * concurrency-limits applies it to requests (`VegasLimit`).
 *
 * The limit is an estimate of how many calls the source serves at once before they start
 * to queue inside it. Every finished call is a sample: its round-trip time (RTT), how many
 * calls were in flight when it started, and whether it failed with an overload error. The
 * lowest RTT seen is the source's no-load RTT; a call slower than that reveals a queue of
 * `limit × (1 − rttNoLoad / rtt)` calls. Small queue: grow (fast while there is none at
 * all); large queue: shrink; in between: hold. An overload error (`SOURCE_UNAVAILABLE`,
 * `TIMEOUT`, a 429/503) shrinks it multiplicatively, at most once per round trip (a burst of
 * rejections caused by one limit counts once, as TCP halves its window once per RTT).
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

class VegasLimit implements AdaptiveLimit {
  limit: number;
  #estimate: number;
  #rttNoLoad = 0;
  #probeCount = 0;
  #probeJitter: number;
  /** Clock time of the last decrease on an overload error. */
  #decreasedAt = -Infinity;

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
    if (overload) {
      // A call sent under the limit that was already cut says nothing about the new one.
      if (startedAt < this.#decreasedAt) return this.limit;
      this.#decreasedAt = startedAt + rtt;
      return this.#set(this.#estimate * this.options.backoffRatio);
    }
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
    if (inflight * 2 < this.#estimate) return this.limit;
    const estimate = this.#estimate;
    const log = Math.max(1, Math.log10(estimate));
    const queue = Math.ceil(estimate * (1 - this.#rttNoLoad / rtt));
    // Vegas's thresholds, as Netflix scales them with the limit: log, 3·log, 6·log.
    if (queue <= log) return this.#set(estimate + 6 * log);
    if (queue < 3 * log) return this.#set(estimate + log);
    if (queue > 6 * log) return this.#set(estimate - log);
    return this.limit;
  }

  #set(estimate: number): number {
    this.#estimate = Math.max(this.min, Math.min(this.max, estimate));
    this.limit = Math.floor(this.#estimate);
    return this.limit;
  }

  #jitter(): number {
    return 0.5 + this.random() * 0.5;
  }
}

/**
 * A Vegas limit between `min` and `max` starting at `initial` (clamped). `random` jitters
 * the probe interval (tests pass a seeded one).
 */
export function createAdaptiveLimit(options: AdaptiveLimitOptions, max: number, random: () => number = Math.random): AdaptiveLimit {
  const min = Math.min(options.min, max);
  return new VegasLimit(min, max, options.initial, options, random);
}
