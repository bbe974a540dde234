import type { RedisOptions } from 'ioredis';
import { badRedisUrl, parseRedisUrl } from '../redis-url.js';

/** Where the queue's Redis is: a `redis://` / `rediss://` URL or ioredis options. */
export type RemoteConnection = string | RedisOptions;

/**
 * ioredis options for a connection. BullMQ takes options (not a URL) and makes its own
 * clients from them, so a URL is unpacked here; one that is no `redis://` / `rediss://` URL is
 * CONFIG_INVALID at `path`, without the text (it holds the password). @internal
 */
export function redisOptionsOf(connection: RemoteConnection, path = 'connection', what = 'remote options'): RedisOptions {
  if (typeof connection !== 'string') return { ...connection };
  const url = parseRedisUrl(connection);
  if (url === undefined) throw badRedisUrl(what, path);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined;
  // A `%` that is no escape (a password written unencoded) parses, but does not decode.
  const username = decoded(url.username);
  const password = decoded(url.password);
  if (username === undefined || password === undefined) throw badRedisUrl(what, path);
  return {
    host: url.hostname || '127.0.0.1',
    port: url.port ? Number(url.port) : 6379,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** A URL part percent-decoded, or undefined when it holds a `%` that is no escape. */
function decoded(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/** A short description for error messages (never the password). @internal */
export function describeConnection(connection: RemoteConnection): string {
  const o = redisOptionsOf(connection);
  return `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}`;
}

/** The Redis keys and channel of one queue, shared by coordinators and workers. @internal */
export const remoteKeys = (queue: string) => ({
  /** Published with a job id: the worker running it aborts the source call. */
  abortChannel: `tributary:${queue}:abort`,
  /** Set (with a TTL) before publishing, for a worker that picks the job up just after. */
  aborted: (jobId: string) => `tributary:${queue}:aborted:${jobId}`,
  result: (jobId: string, n: number) => `tributary:${queue}:result:${jobId}:${n}`,
  /** Published with `{ jobId, source }` when a job is failed as stalled: a worker serving the source stops its statement. */
  reapChannel: `tributary:${queue}:reap`,
  /** Set NX (with a TTL) by the one worker that stops a stalled job's statement. */
  reaped: (jobId: string) => `tributary:${queue}:reaped:${jobId}`,
  /** A stalled job's principal (encoded, with a short TTL) for the worker that stops its statement: the job itself no longer holds it. */
  principal: (jobId: string) => `tributary:${queue}:principal:${jobId}`,
  /** A fragment's request count (httpSource's maxRequests), reserved from by its jobs (job-requests.ts). */
  requests: (tally: string) => `tributary:${queue}:requests:${tally}`,
});
