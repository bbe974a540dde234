import type { Redis } from 'ioredis';
import { TributaryError } from '../errors.js';
import type { RequestTally, SharedRequestCount } from '../sources/request-tally.js';
import type { CallPayload } from './codec.js';

/**
 * A job's side of its fragment's request count (httpSource's `maxRequests`, see
 * request-tally.ts). A job carries the coordinator's cap and the name of the fragment's count
 * in Redis (`tributary:<queue>:requests:<tally>`): its call reserves there, so the jobs of one
 * fragment in flight at once (batches, retries, hedged calls, on any workers) cannot pass the
 * cap between them. When the job ends, what it reserved and did not send is given back, and
 * what it sent is reported to the coordinator, whose tally seeds the count again if it is
 * gone (the coordinator deletes it once no job of the fragment is left, see tally-keys.ts; a
 * TTL, renewed at every change, ends it if no one does). @internal
 */

/** How long a fragment's count outlives its last change without a coordinator to delete it. */
export const REQUEST_COUNT_TTL_MS = 60 * 60_000;

/**
 * KEYS: the count. ARGV: n, max, seed (what the fragment had sent when the job was queued),
 * TTL ms. Adds n when the count (at least the seed) stays at most max. Returns { fits, before }.
 */
const RESERVE = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local seed = tonumber(ARGV[3])
if seed > count then count = seed end
local n = tonumber(ARGV[1])
if count + n > tonumber(ARGV[2]) then return {0, count} end
redis.call('SET', KEYS[1], count + n, 'PX', ARGV[4])
return {1, count}
`;

/** KEYS: the count. ARGV: n, TTL ms. Takes back n reserved and not sent, unless the count is gone. */
const GIVE_BACK = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count == 0 then return 0 end
local left = count - tonumber(ARGV[1])
if left < 0 then left = 0 end
redis.call('SET', KEYS[1], left, 'PX', ARGV[2])
return left
`;

/** The fragment's count in Redis, as one job reserves from it. */
class RedisRequestCount implements SharedRequestCount {
  #reserved = 0;
  readonly #pending = new Set<Promise<unknown>>();

  constructor(
    private readonly client: Redis,
    private readonly key: string,
    private readonly seed: number,
  ) {}

  reserve(n: number, max: number): Promise<{ fits: boolean; before: number }> {
    const reply = this.client.eval(RESERVE, 1, this.key, n, max, this.seed, REQUEST_COUNT_TTL_MS).then(
      (r) => {
        const [fits, before] = r as [number, number];
        if (fits === 1) this.#reserved += n;
        return { fits: fits === 1, before: Number(before) };
      },
      (error: unknown) => {
        // Nothing is sent uncounted: the call fails, and its retry may find Redis again.
        throw new TributaryError('SOURCE_UNAVAILABLE', `the fragment's request count in Redis cannot be reached: ${error instanceof Error ? error.message : String(error)}`, { retryable: true, cause: error });
      },
    );
    this.#pending.add(reply);
    void reply.then(
      () => this.#pending.delete(reply),
      () => this.#pending.delete(reply),
    );
    return reply;
  }

  /** Gives back what the job reserved beyond the requests it sent, once its reservations have landed. */
  async release(sentOf: () => number): Promise<number> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    const sent = sentOf();
    const unsent = this.#reserved - sent;
    this.#reserved = sent;
    // Redis gone: the reservation counts until the coordinator deletes the count (or its TTL).
    if (unsent > 0) await this.client.eval(GIVE_BACK, 1, this.key, unsent, REQUEST_COUNT_TTL_MS).catch(() => undefined);
    return sent;
  }
}

/** One job's requests: the tally its call counts on, and what it sent once it ends. */
export interface JobRequests {
  readonly tally: RequestTally;
  /** The requests the job sent, after giving back what it reserved and did not send. Never rejects. */
  settle(): Promise<number>;
}

/**
 * The tally of a job's call: counted from what its fragment had sent when it was queued, held
 * to the coordinator's cap, and shared through Redis when the job names the fragment's count
 * (`countKey(tally)`) and the cap is finite. A job from a coordinator that sends no cap is
 * held to its worker's own, from what the job says its fragment had sent (as before there
 * was a shared count).
 */
export function jobRequests(client: Redis, countKey: (tally: string) => string, payload?: Pick<CallPayload, 'requests' | 'requestCap'>): JobRequests {
  const before = payload?.requests ?? 0;
  const cap = payload?.requestCap;
  const shared = cap?.tally !== undefined && Number.isFinite(cap.max) ? new RedisRequestCount(client, countKey(cap.tally), before) : undefined;
  const tally: RequestTally = { requests: before, ...(cap === undefined ? {} : { max: cap.max }), ...(shared === undefined ? {} : { shared }) };
  return {
    tally,
    settle: async () => {
      const sent = () => tally.requests - before;
      return shared === undefined ? sent() : shared.release(sent);
    },
  };
}
