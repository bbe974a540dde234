import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * The Lua scripts of `redisStore`. Each runs atomically in Redis, so an entry and its index
 * memberships never disagree for another client.
 *
 * Indexes: one sorted set per source and per tag, whose members are entry keys scored by
 * their expiry time (Redis's own clock). Writing prunes the members that have expired and
 * keeps the index alive as long as its longest-lived entry, so an index never outgrows the
 * live entries by much and disappears with them.
 *
 * They touch keys other than those in KEYS (the members of an index), which is fine on a
 * standalone Redis or a replicated one, not on Redis Cluster.
 */

const INDEX_ENTRY = `
local function index_entry(entry, ttl, first)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  for i = first, #KEYS do
    redis.call('ZADD', KEYS[i], now + ttl, entry)
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
    if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
  end
end
`;

/** KEYS: entry, then its indexes. ARGV: value, ttl ms. Stores the entry with PX and indexes it. */
export const STORE = `${INDEX_ENTRY}
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
index_entry(KEYS[1], ttl, 2)
return 1
`;

/** KEYS: entry, then the tag indexes to add it to (for what is left of its TTL). */
export const TAG = `${INDEX_ENTRY}
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return 0 end
index_entry(KEYS[1], ttl, 2)
return 1
`;

/**
 * KEYS: an index, and optionally a second one. Deletes every entry of the first index that
 * is also in the second, and removes them from both; returns how many entries existed.
 */
export const DROP_INDEXED = `
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
local doomed = {}
for _, m in ipairs(members) do
  if #KEYS < 2 or redis.call('ZSCORE', KEYS[2], m) then doomed[#doomed + 1] = m end
end
local n = 0
for i = 1, #doomed, 500 do
  local last = math.min(i + 499, #doomed)
  n = n + redis.call('DEL', unpack(doomed, i, last))
  for k = 1, #KEYS do redis.call('ZREM', KEYS[k], unpack(doomed, i, last)) end
end
return n
`;

/** KEYS: an entry, then indexes it must belong to. Deletes it if it does; returns 1 or 0. */
export const DROP_KEY = `
for i = 2, #KEYS do
  if not redis.call('ZSCORE', KEYS[i], KEYS[1]) then return 0 end
end
local n = redis.call('DEL', KEYS[1])
for i = 2, #KEYS do redis.call('ZREM', KEYS[i], KEYS[1]) end
return n
`;

/**
 * KEYS: an entry. ARGV: the largest value length to send. Returns false (no entry), the
 * value's length when it is larger (the value stays in Redis: a planted huge value is never
 * transferred), or { value, PTTL } — one round trip either way.
 */
export const LOOKUP = `
local n = redis.call('STRLEN', KEYS[1])
if n == 0 then return false end
if n > tonumber(ARGV[1]) then return n end
return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}
`;

const shas = new Map<string, string>();

/** Runs a script by its SHA1, loading it on the first NOSCRIPT (as ioredis's defineCommand does). */
export async function runScript(client: Redis, script: string, keys: readonly string[], args: readonly (string | Buffer | number)[]): Promise<unknown> {
  return run(script, (command, first) => client.call(command, first, keys.length, ...keys, ...args));
}

/** `runScript` whose bulk-string replies are Buffers (binary values), not strings. */
export async function runScriptBuffer(client: Redis, script: string, keys: readonly string[], args: readonly (string | Buffer | number)[]): Promise<unknown> {
  return run(script, (command, first) => client.callBuffer(command, first, keys.length, ...keys, ...args));
}

async function run(script: string, call: (command: 'evalsha' | 'eval', first: string) => Promise<unknown>): Promise<unknown> {
  let sha = shas.get(script);
  if (sha === undefined) {
    sha = createHash('sha1').update(script).digest('hex');
    shas.set(script, sha);
  }
  try {
    return await call('evalsha', sha);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return call('eval', script);
  }
}
