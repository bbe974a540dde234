import type { Redis } from 'ioredis';
import { TributaryError } from '../errors.js';
import type { RequestTally, SharedRequestCount } from '../sources/request-tally.js';
import type { CallPayload } from './codec.js';

/**
 * A job's side of its fragment's request count (httpSource's `maxRequests`, see
 * request-tally.ts). A job carries the coordinator's cap and the name of the fragment's count
 * in Redis (`tributary:<queue>:requests:<tally>`): its call reserves there, so the jobs of one
 * fragment in flight at once (batches, retries, hedged calls, on any workers) cannot pass the
 * cap between them. The count is a hash: the fragment's count (`n`) and, per job, what it
 * reserved (`r:<jobId>`), what of that it has sent (`s:<jobId>`: a page as it is reserved, a
 * list value as it goes) and whether it has ended (`d:<jobId>`). When the job ends, its worker
 * gives back what it reserved and did not send, and reports what it sent to the coordinator;
 * a job whose worker died is ended by the coordinator instead (`reclaimJobRequests`), which
 * gives back what it reserved and never sent and reads what it did. An ended job reserves
 * nothing more; nor does a job whose count is gone once it has reserved there (the count
 * outlives each of its jobs, so only a job ended — by the coordinator, or at its `close()` —
 * or long dead finds it gone: a worker that was hung, not dead, may come back after the
 * fragment's last job and the count with it). The coordinator deletes the count once no job of the fragment is left (see
 * tally-keys.ts; a TTL, renewed at every change, ends it if no one does). @internal
 */

/** How long a fragment's count outlives its last change without a coordinator to delete it. */
export const REQUEST_COUNT_TTL_MS = 60 * 60_000;

/**
 * KEYS: the count. ARGV: job id, n, max, seed (what the fragment had sent when the job was
 * queued), TTL ms, 1 when the n requests go at once (pages), 1 when the job has reserved
 * before. Adds n to the count (at least the seed) when it stays at most max, and to the job's
 * reservation. Returns { fits, before }: fits is -1 for a job that has ended (or whose count,
 * where it has reserved before, is gone).
 */
const RESERVE = `
local job = ARGV[1]
if ARGV[7] == '1' and redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0} end
local count = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
if redis.call('HEXISTS', KEYS[1], 'd:' .. job) == 1 then return {-1, count} end
local seed = tonumber(ARGV[4])
if seed > count then count = seed end
local n = tonumber(ARGV[2])
if count + n > tonumber(ARGV[3]) then return {0, count} end
redis.call('HSET', KEYS[1], 'n', count + n)
redis.call('HINCRBY', KEYS[1], 'r:' .. job, n)
if ARGV[6] == '1' then redis.call('HINCRBY', KEYS[1], 's:' .. job, n) end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {1, count}
`;

/**
 * KEYS: the count. ARGV: job id, TTL ms. One listed request of the job goes (its list was
 * reserved, so the count was there): 1, or 0 for a job that has ended or a count now gone.
 */
const SEND = `
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'd:' .. ARGV[1]) == 1 then return 0 end
redis.call('HINCRBY', KEYS[1], 's:' .. ARGV[1], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/**
 * KEYS: the count. ARGV: job id, TTL ms, what the job sent (absent: what it recorded as sent,
 * its worker being gone). Ends the job: what it reserved beyond that goes back to the count.
 * Returns what the job sent (by its worker's word, once ended); nothing for a count that is gone.
 */
const END = `
local job = ARGV[1]
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local reserved = tonumber(redis.call('HGET', KEYS[1], 'r:' .. job) or '0')
if redis.call('HEXISTS', KEYS[1], 'd:' .. job) == 1 then return reserved end
local sent = tonumber(ARGV[3] or redis.call('HGET', KEYS[1], 's:' .. job) or '0')
if sent > reserved then sent = reserved end
local left = tonumber(redis.call('HGET', KEYS[1], 'n') or '0') - (reserved - sent)
if left < 0 then left = 0 end
redis.call('HSET', KEYS[1], 'n', left, 'r:' .. job, sent, 'd:' .. job, 1)
redis.call('HDEL', KEYS[1], 's:' .. job)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return sent
`;

/** A request count past its job's end: the job's calls send nothing more. */
const ended = (jobId: string): TributaryError =>
  new TributaryError('CANCELLED', `job ${jobId} has ended (or its fragment's request count is gone): the count takes no more of its requests`, { retryable: false });

const unreachable = (error: unknown): TributaryError =>
  // Nothing is sent uncounted: the call fails, and its retry may find Redis again.
  new TributaryError('SOURCE_UNAVAILABLE', `the fragment's request count in Redis cannot be reached: ${error instanceof Error ? error.message : String(error)}`, { retryable: true, cause: error });

/** The fragment's count in Redis, as one job reserves from it. */
class RedisRequestCount implements SharedRequestCount {
  readonly #pending = new Set<Promise<unknown>>();
  /** Set once the job's end has begun: its calls reserve nothing more. */
  #ended = false;
  /** What the job's reservations that fit add up to. */
  #reserved = 0;

  /** A reservation of the job has fit: the count exists in Redis. */
  get used(): boolean {
    return this.#reserved > 0;
  }

  constructor(
    private readonly client: Redis,
    private readonly key: string,
    private readonly jobId: string,
    private readonly seed: number,
  ) {}

  reserve(n: number, max: number, pages: boolean): Promise<{ fits: boolean; before: number }> {
    return this.#track(async () => {
      const [fits, before] = (await this.#eval(RESERVE, n, max, this.seed, REQUEST_COUNT_TTL_MS, pages ? 1 : 0, this.#reserved > 0 ? 1 : 0)) as [number, number];
      if (fits === -1) throw ended(this.jobId);
      if (fits === 1) this.#reserved += n;
      return { fits: fits === 1, before: Number(before) };
    });
  }

  send(): Promise<void> {
    return this.#track(async () => {
      if ((await this.#eval(SEND, REQUEST_COUNT_TTL_MS)) !== 1) throw ended(this.jobId);
    });
  }

  /**
   * Ends the job once its reservations have landed: what it reserved beyond `sentOf()` is given
   * back (a round trip only when there is some: else the count already says what it sent).
   */
  async release(sentOf: () => number): Promise<number> {
    this.#ended = true;
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    const sent = sentOf();
    // Redis gone: the reservation counts until the coordinator deletes the count (or its TTL).
    if (this.#reserved > sent) await this.#eval(END, REQUEST_COUNT_TTL_MS, sent).catch(() => undefined);
    return sent;
  }

  /** Runs `script` on the count for this job. */
  async #eval(script: string, ...args: number[]): Promise<unknown> {
    try {
      return await this.client.eval(script, 1, this.key, this.jobId, ...args);
    } catch (error) {
      throw unreachable(error);
    }
  }

  /** Runs a change of the count unless the job has ended; its end waits for it. */
  #track<T>(change: () => Promise<T>): Promise<T> {
    if (this.#ended) return Promise.reject(ended(this.jobId));
    const reply = change();
    this.#pending.add(reply);
    void reply.then(
      () => this.#pending.delete(reply),
      () => this.#pending.delete(reply),
    );
    return reply;
  }
}

/**
 * Ends a job whose worker is gone (BullMQ failed it as stalled), on the coordinator: what it
 * reserved and did not send goes back to its fragment's count, its calls (a worker that was
 * only hung) reserve nothing more, and what it sent — by the count, as its worker cannot say
 * — resolves (0 when the count is gone or Redis cannot be reached).
 */
export async function reclaimJobRequests(client: Redis, key: string, jobId: string): Promise<number> {
  const sent = await client.eval(END, 1, key, jobId, REQUEST_COUNT_TTL_MS).catch(() => 0);
  return Number(sent) || 0;
}

/** One job's requests: the tally its call counts on, and what it sent once it ends. */
export interface JobRequests {
  readonly tally: RequestTally;
  /**
   * What the job tells its coordinator of its requests, after giving back what it reserved and
   * did not send: those it sent, and whether it reserved from its fragment's count. Never rejects.
   */
  settle(): Promise<{ requests?: number; shared?: true }>;
}

/**
 * The tally of job `jobId`'s call: counted from what its fragment had sent when it was queued,
 * held to the coordinator's cap (or the connector's own, where smaller: see request-cap.ts),
 * and shared through Redis when the job names the fragment's count (`countKey(tally)`) — used
 * only under a finite cap, so a cap lifted on both sides makes no Redis command. A job from a
 * coordinator that sends no cap is held to its worker's own, from what the job says its
 * fragment had sent.
 */
export function jobRequests(client: Redis, countKey: (tally: string) => string, jobId: string, payload?: Pick<CallPayload, 'requests' | 'requestCap'>): JobRequests {
  const before = payload?.requests ?? 0;
  const cap = payload?.requestCap;
  const shared = cap?.tally === undefined ? undefined : new RedisRequestCount(client, countKey(cap.tally), jobId, before);
  const tally: RequestTally = { requests: before, ...(cap === undefined ? {} : { max: cap.max }), ...(shared === undefined ? {} : { shared }) };
  return {
    tally,
    settle: async () => {
      const sentOf = () => tally.requests - before;
      const sent = shared === undefined ? sentOf() : await shared.release(sentOf);
      return { ...(sent > 0 ? { requests: sent } : {}), ...(shared?.used ? { shared: true as const } : {}) };
    },
  };
}
