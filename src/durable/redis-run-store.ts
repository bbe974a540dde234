import { constants } from 'node:buffer';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { TributaryError } from '../errors.js';
import { badRedisUrl } from '../redis-url.js';
import { DEFAULT_MAX_FRAGMENT_BYTES, oversizedFragment, storedBytesBound } from './fragment-bound.js';
import type { RunStore, StoredFragment, StoredRun, StoredRunInfo, StoredRunState } from './run-store.js';

const optionsSchema = z.strictObject({
  url: z.string().min(1).default('redis://127.0.0.1:6379'),
  /** How long a finished run stays listed (ms); 0 removes it at once. */
  ttlMs: z.number().int().nonnegative().default(0),
  /** Every run's keys expire this long after its last write, so an abandoned run does not stay forever. */
  maxAgeMs: z.number().int().positive().default(7 * 24 * 3600 * 1000),
  /** Key prefix; several deployments (or tests) keep apart with their own. */
  prefix: z.string().min(1).default('tributary:runs:'),
  /**
   * How long one command may wait for Redis (ms): a Redis that stopped answering fails the
   * write (`SOURCE_UNAVAILABLE`) instead of holding the run, `resume` or `executor.close()` forever.
   */
  timeoutMs: z.number().int().positive().default(5000),
  /**
   * The most bytes one stored fragment's rows may gunzip to on `resume` when the run has no
   * `rowLimits.maxBytes` (with one, ×4 of that bounds them). Default 1 GiB: a gzip bomb planted
   * in the store fails the resume with `SOURCE_BAD_RESPONSE` instead of being inflated.
   */
  maxFragmentBytes: z.number().int().positive().max(constants.MAX_LENGTH).default(DEFAULT_MAX_FRAGMENT_BYTES),
});

export type RedisRunStoreOptions = z.input<typeof optionsSchema>;

/* A run is a hash (`run:<id>`), its fragments another (`frag:<id>`: `m:<fragment>` → meta
 * JSON, `c:<n>:<fragment>` → chunk n), and `index` the set of run ids. Every change that reads
 * before it writes is one Lua script, so two executors cannot both win a lease. */

const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('HGET', KEYS[1], 'finished') ~= '1' then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'queryId', ARGV[1], 'principalId', ARGV[2], 'state', ARGV[3], 'createdAt', ARGV[4], 'updatedAt', ARGV[4],
  'fragments', ARGV[5], 'stored', '0', 'leaseOwner', ARGV[6], 'leaseExpiresAt', ARGV[7], 'payload', ARGV[8], 'finished', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[9])
redis.call('SADD', KEYS[3], ARGV[10])
return 1`;

const LEASE = `
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HGET', KEYS[1], 'finished') == '1' then return 0 end
local owner = redis.call('HGET', KEYS[1], 'leaseOwner')
local expires = tonumber(redis.call('HGET', KEYS[1], 'leaseExpiresAt')) or 0
if owner == false or owner == '' or owner == ARGV[1] or expires <= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'leaseOwner', ARGV[1], 'leaseExpiresAt', ARGV[2], 'state', 'running', 'updatedAt', ARGV[3])
  return 1
end
return 0`;

const RELEASE = `
if redis.call('HGET', KEYS[1], 'leaseOwner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'leaseOwner', '', 'leaseExpiresAt', '', 'state', ARGV[2], 'updatedAt', ARGV[3])
return 1`;

/* PUT_FRAGMENT, KEEP and REMOVE write only for the lease holder they are given: a process that lost
 * the lease (another executor took the run over), or a run finished or gone, changes nothing. */
const PUT_FRAGMENT = `
if redis.call('HGET', KEYS[1], 'leaseOwner') ~= ARGV[6] or redis.call('HGET', KEYS[1], 'finished') == '1' then return 0 end
local added = redis.call('HSET', KEYS[2], 'm:' .. ARGV[1], ARGV[2])
for i = 7, #ARGV do redis.call('HSET', KEYS[2], 'c:' .. (i - 7) .. ':' .. ARGV[1], ARGV[i]) end
if added == 1 then redis.call('HINCRBY', KEYS[1], 'stored', 1) end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'snapshot', ARGV[4]) end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 1`;

const KEEP = `
if redis.call('HGET', KEYS[1], 'leaseOwner') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'finished') == '1' then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'updatedAt', ARGV[3], 'finished', '1', 'leaseOwner', '', 'leaseExpiresAt', '', 'expiresAt', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1`;

const REMOVE = `
if redis.call('HGET', KEYS[1], 'leaseOwner') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'finished') == '1' then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SREM', KEYS[3], ARGV[2])
return 1`;

/**
 * KEYS: a run's fragment hash. ARGV: the most bytes one fragment's fields may hold. Sizes
 * every fragment's fields (HSTRLEN: nothing is read) and returns {0, fragment, bytes} for
 * the first one past the bound, which then never crosses the network; else {1, field,
 * value, ...} for the metadata and chunk fields — one round trip either way.
 */
const READ_FRAGMENTS = `
local max = tonumber(ARGV[1])
local fields = redis.call('HKEYS', KEYS[1])
local sizes = {}
local wanted = {}
for _, f in ipairs(fields) do
  local id = string.match(f, '^m:(.*)$') or string.match(f, '^c:%d+:(.*)$')
  if id then
    sizes[id] = (sizes[id] or 0) + redis.call('HSTRLEN', KEYS[1], f)
    if sizes[id] > max then return {0, id, sizes[id]} end
    wanted[#wanted + 1] = f
  end
end
local out = {1}
for i = 1, #wanted, 500 do
  local last = math.min(i + 499, #wanted)
  local values = redis.call('HMGET', KEYS[1], unpack(wanted, i, last))
  for k = i, last do
    out[#out + 1] = wanted[k]
    out[#out + 1] = values[k - i + 1]
  end
end
return out`;

const INFO_FIELDS = ['queryId', 'principalId', 'state', 'createdAt', 'updatedAt', 'fragments', 'stored', 'leaseOwner', 'leaseExpiresAt', 'finished', 'expiresAt'] as const;

/**
 * A run store in Redis, for several executor instances (the BullMQ scale-out already needs
 * Redis). Leases are taken by a Lua script, so exactly one instance wins a run.
 *
 * @example
 * const executor = createExecutor({ sources, runStore: redisRunStore({ url: 'redis://127.0.0.1:6379', ttlMs: 3_600_000 }) });
 */
export function redisRunStore(options: RedisRunStoreOptions = {}): RunStore {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: ['runStore', ...i.path].join('.'), message: i.message }));
    throw new TributaryError('CONFIG_INVALID', `invalid redisRunStore options: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
  }
  const { url, ttlMs, maxAgeMs, prefix, timeoutMs, maxFragmentBytes } = parsed.data;
  let client: Redis;
  try {
    client = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: Math.min(2000, timeoutMs), commandTimeout: timeoutMs });
  } catch {
    // Not ioredis's error as the cause: Node's ERR_INVALID_URL holds the URL, password included.
    throw badRedisUrl('redisRunStore options', 'runStore.url');
  }
  let lastError = '';
  client.on('error', (error: Error) => {
    lastError = error.message;
  });
  const runKey = (id: string): string => `${prefix}run:${id}`;
  const fragKey = (id: string): string => `${prefix}frag:${id}`;
  const index = `${prefix}index`;
  const call = async <T>(what: string, op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new TributaryError('SOURCE_UNAVAILABLE', `the Redis run store failed ${what}: ${message || lastError}`, { cause: error, retryable: true });
    }
  };
  const info = (runId: string, f: Record<string, string | undefined>): StoredRunInfo | undefined => {
    if (f.queryId === undefined) return undefined;
    const num = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));
    return {
      runId,
      queryId: f.queryId,
      principalId: f.principalId === undefined || f.principalId === '' ? undefined : f.principalId.slice(1),
      state: f.state as StoredRunState,
      createdAt: num(f.createdAt) ?? 0,
      updatedAt: num(f.updatedAt) ?? 0,
      fragments: num(f.fragments) ?? 0,
      stored: num(f.stored) ?? 0,
      leaseOwner: f.leaseOwner === '' ? undefined : f.leaseOwner,
      leaseExpiresAt: num(f.leaseExpiresAt),
    };
  };

  return {
    ttlMs,
    maxFragmentBytes,
    create: async (run: Omit<StoredRun, 'leaseOwner' | 'leaseExpiresAt'>, lease, now) =>
      call('to store a run', async () => {
        // A principal id is stored behind a marker, so the empty id and "no principal" differ.
        const principal = run.principalId === undefined ? '' : `=${run.principalId}`;
        const args = [run.queryId, principal, run.state, String(now), String(run.fragments), lease.owner, String(now + lease.ttlMs), run.payload, String(maxAgeMs), run.runId];
        return (await client.eval(CREATE, 3, runKey(run.runId), fragKey(run.runId), index, ...args)) === 1;
      }),
    get: async (runId) =>
      call('to read a run', async () => {
        const raw = await client.hgetallBuffer(runKey(runId));
        const text: Record<string, string> = Object.create(null) as Record<string, string>;
        for (const [k, v] of Object.entries(raw)) if (k !== 'payload') text[k] = v.toString('utf8');
        const base = info(runId, text);
        if (!base || text.finished === '1' || !raw.payload) return undefined;
        return { ...base, payload: raw.payload, snapshot: text.snapshot };
      }),
    lease: async (runId, lease, now) => call('to lease a run', async () => (await client.eval(LEASE, 1, runKey(runId), lease.owner, String(now + lease.ttlMs), String(now))) === 1),
    release: async (runId, owner, state, now) => {
      await call('to release a run', () => client.eval(RELEASE, 1, runKey(runId), owner, state, String(now)));
    },
    putFragment: async (runId, fragment: StoredFragment, snapshot, now, owner) => {
      const meta = JSON.stringify({ rowCount: fragment.rowCount, chunks: fragment.chunks.length, columns: fragment.columns ?? null });
      return call('to store a fragment', async () =>
        (await client.eval(PUT_FRAGMENT, 2, runKey(runId), fragKey(runId), fragment.fragmentId, meta, String(now), snapshot ?? '', String(maxAgeMs), owner, ...fragment.chunks)) === 1,
      );
    },
    fragments: async (runId, maxBytes) => {
      const bound = storedBytesBound(maxBytes ?? maxFragmentBytes);
      const reply = await call('to read fragments', () => client.callBuffer('eval', READ_FRAGMENTS, 1, fragKey(runId), String(bound)) as Promise<unknown[]>);
      if (reply[0] === 0) throw oversizedFragment(runId, String(reply[1]), Number(reply[2]), bound);
      const raw: Record<string, Buffer> = Object.create(null) as Record<string, Buffer>;
      for (let i = 1; i + 1 < reply.length; i += 2) raw[String(reply[i])] = reply[i + 1] as Buffer;
      const out: StoredFragment[] = [];
      for (const [field, value] of Object.entries(raw)) {
        if (!field.startsWith('m:')) continue;
        const fragmentId = field.slice(2);
        const meta = parseMeta(value.toString('utf8'));
        if (!meta) throw new TributaryError('SOURCE_BAD_RESPONSE', `stored run "${runId}" is damaged: fragment "${fragmentId}" has no readable metadata`);
        const chunks: Buffer[] = [];
        for (let n = 0; n < meta.chunks; n++) {
          const chunk = raw[`c:${n}:${fragmentId}`];
          if (!chunk) throw new TributaryError('SOURCE_BAD_RESPONSE', `stored run "${runId}" is damaged: fragment "${fragmentId}" misses chunk ${n}`);
          chunks.push(chunk);
        }
        out.push({ fragmentId, rowCount: meta.rowCount, chunks, columns: meta.columns ?? undefined });
      }
      return out;
    },
    finish: async (runId, state, keepMs, now, owner) =>
      call('to finish a run', async () =>
        keepMs <= 0
          ? (await client.eval(REMOVE, 3, runKey(runId), fragKey(runId), index, owner, runId)) === 1
          : (await client.eval(KEEP, 2, runKey(runId), fragKey(runId), owner, state, String(now), String(keepMs), String(now + keepMs))) === 1,
      ),
    list: async (now) =>
      call('to list runs', async () => {
        const ids = (await client.smembers(index)).sort();
        const pipeline = client.pipeline();
        for (const id of ids) pipeline.hmget(runKey(id), ...INFO_FIELDS);
        const replies = (await pipeline.exec()) ?? [];
        const out: StoredRunInfo[] = [];
        const gone: string[] = [];
        ids.forEach((id, i) => {
          const values = (replies[i]?.[1] ?? []) as (string | null)[];
          const fields: Record<string, string | undefined> = Object.create(null) as Record<string, string | undefined>;
          INFO_FIELDS.forEach((name, k) => (fields[name] = values[k] ?? undefined));
          const found = info(id, fields);
          // A finished run's listing ends on the executor's clock (a virtual one too); its
          // keys' PEXPIRE, on Redis's own clock, only cleans up after it.
          const expiresAt = Number(fields.expiresAt);
          if (found && fields.finished === '1' && fields.expiresAt !== undefined && expiresAt <= now) return;
          if (found) out.push(found);
          else gone.push(id);
        });
        if (gone.length > 0) await client.srem(index, ...gone);
        return out.sort((a, b) => a.createdAt - b.createdAt || (a.runId < b.runId ? -1 : 1));
      }),
    close: async () => {
      if (client.status === 'end') return;
      await client.quit().catch(() => client.disconnect());
    },
  };
}

function parseMeta(text: string): { rowCount: number; chunks: number; columns: string | null } | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { rowCount, chunks, columns } = value as Record<string, unknown>;
    if (typeof rowCount !== 'number' || !Number.isSafeInteger(chunks) || (columns !== null && typeof columns !== 'string')) return undefined;
    return { rowCount, chunks: chunks as number, columns: columns as string | null };
  } catch {
    return undefined;
  }
}
