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
  const cases: [string, string, () => unknown][] = [
    ['redisStore({ url })', 'options.url', () => redisStore({ url: BAD })],
    ['redisRunStore({ url })', 'runStore.url', () => redisRunStore({ url: BAD })],
    ['createExecutor({ remote: { connection } })', 'remote.connection', () => createExecutor({ sources, remote: { connection: BAD, queue: 'q' } })],
    ['createRemoteLane({ connection })', 'connection', () => createRemoteLane({ connection: BAD, queue: 'q' })],
    ['createWorker({ connection })', 'connection', () => createWorker({ sources, connection: BAD, queue: 'q' })],
  ];

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
