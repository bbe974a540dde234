import { TributaryError } from './errors.js';

/** What a Redis URL looks like, for the messages below. */
export const REDIS_URL_FORM = 'redis://[user:password@]host:6379[/db] (rediss:// for TLS)';

/**
 * A `redis://` or `rediss://` URL, or undefined for any other text. Never throws: Node's
 * `ERR_INVALID_URL` keeps the whole text as its `input`, password included, and whoever logs
 * the error (or its `cause`) would print it.
 */
export function parseRedisUrl(text: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  return url.protocol === 'redis:' || url.protocol === 'rediss:' ? url : undefined;
}

/**
 * CONFIG_INVALID at `path` for a Redis URL that is none. The text is not echoed, nor the
 * parser's error kept as the cause: a connection URL carries its password.
 */
export function badRedisUrl(what: string, path: string): TributaryError {
  const message = `not a Redis URL; write ${REDIS_URL_FORM}`;
  return new TributaryError('CONFIG_INVALID', `invalid ${what}: ${path}: ${message}`, { issues: [{ path, message }] });
}
