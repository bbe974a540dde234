import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createExecutor, createRemoteLane, createWorker, memorySource, redisRunStore, redisStore } from '../src/index.js';

/*
 * A Redis URL carries its password. One that does not parse is CONFIG_INVALID at its path,
 * and nothing in the error — message, issues, cause — holds the text: Node's ERR_INVALID_URL
 * keeps the whole URL as its `input`, so an error that is it, or has it as its cause, prints
 * the password wherever it is logged.
 */
const SECRET = 'Hunter2-redis-secret';
const BAD = `redis://app:${SECRET}@[not-a-host:6379`;
/** Parses as a URL, but its password holds a `%` that is no escape (decoding it throws URIError). */
const BAD_ESCAPE = `redis://app:${SECRET}%zz@127.0.0.1:6379`;
const sources = { m: memorySource({ tables: { t: [{ a: 1 }] } }) };

function thrown(make: () => unknown): unknown {
  try {
    make();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('a malformed Redis URL', () => {
  const cases: [string, string, () => unknown][] = ([['unparsable', BAD], ['a bad % escape', BAD_ESCAPE]] as const).flatMap(([what, url]): [string, string, () => unknown][] => [
    [`redisStore({ url: ${what} })`, 'options.url', () => redisStore({ url })],
    [`redisRunStore({ url: ${what} })`, 'runStore.url', () => redisRunStore({ url })],
    [`createExecutor({ remote: { connection: ${what} } })`, 'remote.connection', () => createExecutor({ sources, remote: { connection: url, queue: 'q' } })],
    [`createRemoteLane({ connection: ${what} })`, 'connection', () => createRemoteLane({ connection: url, queue: 'q' })],
    [`createWorker({ connection: ${what} })`, 'connection', () => createWorker({ sources, connection: url, queue: 'q' })],
  ]);

  it.each(cases)('%s is CONFIG_INVALID at %s, and the error never holds the password', (_, path, make) => {
    const error = thrown(make);
    expect(error).toMatchObject({ name: 'TributaryError', code: 'CONFIG_INVALID', issues: [{ path, message: expect.stringContaining('not a Redis URL') }] });
    expect(inspect(error, { depth: Infinity, showHidden: true })).not.toContain(SECRET);
  });

  it('the remote option takes only redis:// and rediss:// URLs (another scheme would be read as 127.0.0.1:6379)', () => {
    for (const connection of ['localhost:6379', `http://app:${SECRET}@cache.internal:6379`]) {
      const error = thrown(() => createExecutor({ sources, remote: { connection, queue: 'q' } }));
      expect(error).toMatchObject({ code: 'CONFIG_INVALID', issues: [{ path: 'remote.connection' }] });
      expect(inspect(error, { depth: Infinity, showHidden: true })).not.toContain(SECRET);
    }
  });

  it('well-formed URLs are still taken (the stores connect lazily)', async () => {
    const store = redisStore({ url: `redis://app:${SECRET}@127.0.0.1:6379/2` });
    const runs = redisRunStore({ url: 'redis://127.0.0.1:6379', timeoutMs: 200 });
    await Promise.allSettled([store.close(), runs.close()]);
  });
});
