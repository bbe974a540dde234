import type { Redis } from 'ioredis';
import type { RedisClock } from './redis-clock.js';

/**
 * Which live workers of a queue serve each source, so that a worker handed a job for a source
 * it lacks (a fleet whose workers serve different sources, a rolling deploy that adds one)
 * can tell whether another worker could run it. Each worker keeps its id in one sorted set per
 * source it serves (`tributary:<queue>:serves:<source>`), scored with when its entry expires
 * on Redis's clock (`RedisClock`, which every process of the queue reads alike), renewed every
 * `ttlMs / 3`; a worker that closes takes its entries out, and one that died drops out when its
 * entry expires. @internal
 */
export class SourceRoster {
  readonly #timer: ReturnType<typeof setInterval>;
  #stopped = false;

  constructor(
    private readonly client: Redis,
    private readonly clock: RedisClock,
    private readonly queue: string,
    private readonly worker: string,
    private readonly sources: readonly string[],
    private readonly ttlMs: number,
  ) {
    this.#timer = setInterval(() => void this.renew().catch(() => undefined), Math.max(1, Math.floor(ttlMs / 3)));
    this.#timer.unref?.();
  }

  #key(source: string): string {
    return `tributary:${this.queue}:serves:${source}`;
  }

  /** Enters (or renews) this worker's entries; rejects when Redis does not answer. */
  async renew(): Promise<void> {
    if (this.#stopped || this.sources.length === 0) return;
    const now = this.clock.now();
    const write = this.client.multi();
    for (const source of this.sources) {
      const key = this.#key(source);
      write.zadd(key, now + this.ttlMs, this.worker);
      // Entries of workers that died: gone from the set once long expired; an unused set goes too.
      write.zremrangebyscore(key, '-inf', now - this.ttlMs);
      write.pexpire(key, this.ttlMs * 2);
    }
    await write.exec();
  }

  /** Whether a live worker other than this one serves `source`. */
  async servedElsewhere(source: string): Promise<boolean> {
    const key = this.#key(source);
    const live = await this.client.zrangebyscore(key, `(${this.clock.now()}`, '+inf', 'LIMIT', 0, 2);
    return live.some((w) => w !== this.worker);
  }

  /** Stops renewing and takes this worker's entries out (best effort: Redis may be gone). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    if (this.sources.length === 0 || this.client.status !== 'ready') return;
    const write = this.client.multi();
    for (const source of this.sources) write.zrem(this.#key(source), this.worker);
    await write.exec().catch(() => undefined);
  }
}
