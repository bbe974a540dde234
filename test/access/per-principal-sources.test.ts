import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor } from '../../src/executor.js';
import type { TributaryError } from '../../src/errors.js';
import { httpSource } from '../../src/sources/http/connector.js';
import { postgresSource } from '../../src/sources/postgres/connector.js';
import { reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';

/** What `fn` throws (fails the test if it does not). */
function thrown(fn: () => unknown): TributaryError {
  try {
    fn();
  } catch (error) {
    return error as TributaryError;
  }
  return expect.fail('expected a throw');
}

describe('sources whose answers depend on the principal are never shared across principals', () => {
  it("postgresSource({ role }) is cacheScope 'principal', and refuses 'shared'", async () => {
    const source = postgresSource({ url: 'postgres://nobody@127.0.0.1:1/none', role: () => 'reader' });
    expect(source.cacheScope).toBe('principal');
    await source.close?.();
    const error = thrown(() => postgresSource({ url: 'postgres://nobody@127.0.0.1:1/none', role: () => 'reader', cacheScope: 'shared' }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.issues.map((i) => i.path)).toEqual(['options.cacheScope']);
    expect(thrown(() => postgresSource({ url: 'postgres://x@127.0.0.1:1/none', role: 'reader' as never })).issues[0]!.path).toBe('options.role');
  });

  it("httpSource({ headers: fn }) is cacheScope 'principal', and refuses 'shared'", () => {
    expect(httpSource({ baseUrl: 'http://127.0.0.1:1', headers: () => ({}) }).cacheScope).toBe('principal');
    const error = thrown(() => httpSource({ baseUrl: 'http://127.0.0.1:1', headers: () => ({}), cacheScope: 'shared' }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.issues.map((i) => i.path)).toEqual(['cacheScope']);
  });
});

describe('httpSource({ headers: (principal) => … })', () => {
  let server: TestHttpServer;
  beforeAll(async () => {
    server = await startHttpServer({
      // Answers with the token it was given, so a row shows whose request it served.
      'GET /me': (req, res) => reply.json([{ token: req.headers.authorization ?? null }])(req, res),
    });
  });
  afterAll(() => server.close());

  const plan = { id: 'me', fragments: [{ id: 'me', source: 'api', query: { path: '/me' } }] };

  it("sends each principal's own header, and caches per principal", async () => {
    const api = httpSource({ baseUrl: server.url, headers: (p): Record<string, string> => (p ? { authorization: `Bearer ${String(p.token)}` } : {}) });
    const executor = createExecutor({ sources: { api } });
    // Everything the executor tells the world: principals by id only, never their claims.
    const told: string[] = [];
    executor.events$.subscribe((e) => told.push(JSON.stringify(e)));
    const alice = { id: 'alice', token: 'tok-a' };
    const bob = { id: 'bob', token: 'tok-b' };
    for (const round of [1, 2]) {
      const a = await executor.execute(plan, { principal: alice });
      const b = await executor.execute(plan, { principal: bob });
      expect(a.rows).toEqual([{ token: 'Bearer tok-a' }]);
      expect(b.rows).toEqual([{ token: 'Bearer tok-b' }]);
      expect([a.fragments.me!.cached, b.fragments.me!.cached]).toEqual([round === 2, round === 2]);
    }
    expect((await executor.execute(plan)).rows).toEqual([{ token: null }]);
    expect(server.requests.map((r) => r.headers.authorization)).toEqual(['Bearer tok-a', 'Bearer tok-b', undefined]);
    told.push(JSON.stringify(executor.metrics()));
    expect(told.length).toBeGreaterThan(10);
    expect(told.filter((t) => t.includes('tok-'))).toEqual([]);
    await executor.close();
  });

  it('a function answering a bad header fails the fragment without retrying and without echoing the value', async () => {
    const before = server.hits('GET /me');
    const api = httpSource({ baseUrl: server.url, headers: () => ({ authorization: 'secret\nx' }) });
    const executor = createExecutor({ sources: { api }, cache: false });
    const result = await executor.execute(plan, { principal: { id: 'p' } });
    expect(result.status).toBe('failed');
    expect(result.errors[0]!.message).toContain('headers function answered invalid headers');
    expect(result.errors[0]!.message).not.toContain('secret');
    expect(result.fragments.me!.attempts).toBe(1);
    expect(server.hits('GET /me')).toBe(before);
    await executor.close();
  });

  it('a function may answer a promise (a token looked up per principal); a rejection fails the fragment without a request', async () => {
    const looked: string[] = [];
    const api = httpSource({
      baseUrl: server.url,
      headers: async (p) => {
        looked.push(p?.id ?? '(anonymous)');
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (p?.id === 'mallory') throw new Error('no token for mallory');
        return { authorization: `Bearer vault-${p?.id ?? 'none'}` };
      },
    });
    const executor = createExecutor({ sources: { api }, cache: false });
    try {
      expect((await executor.execute(plan, { principal: { id: 'alice' } })).rows).toEqual([{ token: 'Bearer vault-alice' }]);
      // Streamed, the function is asked once per call too.
      const run = executor.run(plan, { principal: { id: 'bob' } });
      const streamed: unknown[] = [];
      for await (const batch of run.rows()) streamed.push(...batch);
      expect(streamed).toEqual([{ token: 'Bearer vault-bob' }]);
      expect(looked).toEqual(['alice', 'bob']);
      const before = server.hits('GET /me');
      const refused = await executor.execute(plan, { principal: { id: 'mallory' } });
      expect(refused.status).toBe('failed');
      expect(refused.errors[0]).toMatchObject({ fragmentId: 'me', retryable: false });
      expect(refused.errors[0]!.message).toContain('the headers function threw: no token for mallory');
      expect(server.hits('GET /me')).toBe(before);
    } finally {
      await executor.close();
    }
  });
});
