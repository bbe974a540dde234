/** What a `RedisClock` needs of a Redis client: `TIME` (seconds and microseconds). */
export interface TimeSource {
  time(): Promise<readonly (string | number)[]>;
}

/**
 * Redis's clock as this process sees it: `Date.now()` plus an offset measured with `TIME`
 * (half the round trip is the error). A coordinator and its workers stamp and read a job's
 * times on this one clock, so a worker whose own clock is minutes off still takes from a
 * call's budget exactly what the job spent waiting in the queue. Until the first `sync` the
 * offset is 0 (each process's own clock, as before there was one); `now()` refreshes the
 * offset in the background once it is older than `refreshMs`. @internal
 */
export class RedisClock {
  #offset = 0;
  #syncedAt = Number.NEGATIVE_INFINITY;
  #syncing: Promise<void> | undefined;

  constructor(
    private readonly source: TimeSource,
    private readonly localNow: () => number = Date.now,
    readonly refreshMs = 30_000,
  ) {}

  /** Measures the offset now. Rejects when Redis does not answer (the last offset stays). */
  async sync(): Promise<void> {
    const before = this.localNow();
    const [seconds, micros] = await this.source.time();
    const after = this.localNow();
    const redisMs = Number(seconds) * 1000 + Number(micros) / 1000;
    if (!Number.isFinite(redisMs)) return;
    this.#offset = redisMs - (before + after) / 2;
    this.#syncedAt = after;
  }

  /** Resolves once the offset has been measured once (or the measuring failed). */
  measured(): Promise<void> {
    if (this.#syncedAt !== Number.NEGATIVE_INFINITY) return Promise.resolve();
    this.#syncing ??= this.sync()
      .catch(() => undefined)
      .finally(() => (this.#syncing = undefined));
    return this.#syncing;
  }

  /** Redis's time now, in ms. */
  now(): number {
    return this.fromLocal(this.localNow());
  }

  /** A reading of this process's `Date.now()`, on Redis's clock. */
  fromLocal(local: number): number {
    if (local - this.#syncedAt >= this.refreshMs && !this.#syncing) {
      this.#syncing = this.sync()
        .catch(() => undefined)
        .finally(() => (this.#syncing = undefined));
    }
    return local + this.#offset;
  }
}
