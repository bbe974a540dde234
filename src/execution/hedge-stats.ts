import type { Clock } from './clock.js';

/** Latencies kept per source for `hedge.quantile` (the most recent ones). */
const SAMPLES = 256;
/** Below this many latencies a quantile is a guess: `hedge.quantile` waits for more. */
export const MIN_HEDGE_SAMPLES = 20;
/** The sliding window over which `maxExtraRatio` bounds extra calls. */
export const HEDGE_WINDOW_MS = 10_000;

/**
 * What hedging knows about one source, shared by every run of an executor: the latencies
 * of its recent (hedgeable) calls, for `hedge.quantile`, and how many calls and extra calls
 * it saw over a sliding window, for `hedge.maxExtraRatio`.
 *
 * The window is two fixed buckets weighted by overlap (the previous bucket counts for the
 * part of it still inside the window), as sliding-window rate limiters do: O(1) per call,
 * no timestamps kept.
 */
export class HedgeStats {
  readonly #clock: Clock;
  #latencies: Float64Array | undefined;
  #count = 0;
  #sorted: Float64Array | undefined;
  #sortedAt = 0;
  #bucket = 0;
  #calls = 0;
  #extra = 0;
  #prevCalls = 0;
  #prevExtra = 0;
  #hedges = 0;
  #wins = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** One call's latency (ms): the time until it (or its hedge) answered. */
  recordLatency(ms: number): void {
    const ring = (this.#latencies ??= new Float64Array(SAMPLES));
    ring[this.#count % SAMPLES] = ms;
    this.#count++;
  }

  /** The latency at quantile `q` of the recent calls; undefined before `MIN_HEDGE_SAMPLES`. */
  quantile(q: number): number | undefined {
    const n = Math.min(this.#count, SAMPLES);
    if (n < MIN_HEDGE_SAMPLES || !this.#latencies) return undefined;
    // Re-sorted after every 16 new samples, not on every call.
    if (!this.#sorted || this.#count - this.#sortedAt >= 16) {
      this.#sorted = this.#latencies.slice(0, n).sort();
      this.#sortedAt = this.#count;
    }
    const sorted = this.#sorted;
    return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  }

  /** A call (not an extra one) started. */
  noteCall(): void {
    this.#roll();
    this.#calls++;
  }

  /** Takes one extra call if that keeps extra ÷ calls within `ratio` over the window. */
  tryExtra(ratio: number): boolean {
    const weight = this.#roll();
    const calls = this.#calls + this.#prevCalls * weight;
    const extra = this.#extra + this.#prevExtra * weight;
    if (extra + 1 > ratio * calls) return false;
    this.#extra++;
    this.#hedges++;
    return true;
  }

  /** An extra call answered before the call it hedged. */
  noteWin(): void {
    this.#wins++;
  }

  /** Extra calls started since the executor was created (`metrics().sources[name].hedges`). */
  hedges(): number {
    return this.#hedges;
  }

  /** Of those, the ones that answered first (`metrics().sources[name].hedgeWins`). */
  hedgeWins(): number {
    return this.#wins;
  }

  /** Extra calls in the current bucket (for tests and metrics). */
  extraCalls(): number {
    return this.#extra;
  }

  /** Moves to the current bucket; returns the weight of the previous one. */
  #roll(): number {
    const now = this.#clock.now();
    const bucket = Math.floor(now / HEDGE_WINDOW_MS);
    if (bucket !== this.#bucket) {
      const adjacent = bucket === this.#bucket + 1;
      this.#prevCalls = adjacent ? this.#calls : 0;
      this.#prevExtra = adjacent ? this.#extra : 0;
      this.#calls = 0;
      this.#extra = 0;
      this.#bucket = bucket;
    }
    return 1 - (now - bucket * HEDGE_WINDOW_MS) / HEDGE_WINDOW_MS;
  }
}
