import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpSource, type HttpQuery } from '../../src/sources/http/connector.js';
import type { ExecuteContext } from '../../src/sources/source.js';
import type { Row } from '../../src/data/row.js';
import { failure, reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';

/**
 * Redirects a server answers: followed by hand, on the baseUrl's origin and under its path,
 * each one a request of the fragment's maxRequests, a body dropped with its headers.
 */

let server: TestHttpServer;

beforeAll(async () => {
  server = await startHttpServer({
    'GET /v1/rows': reply.dynamic((req) => [{ method: req.method, type: req.headers['content-type'] ?? null, key: req.headers['x-api-key'] ?? null, body: req.body }]),
    'POST /v1/search': reply.json('', 303, { location: '/v1/rows' }),
    'GET /v1/escape': reply.json('', 302, { location: '/admin/rows' }),
    'GET /admin/rows': reply.json([{ admin: true }]),
    'GET /v1/hop1': reply.json('', 307, { location: '/v1/hop2' }),
    'GET /v1/hop2': reply.json('', 307, { location: '/v1/rows' }),
    'GET /v1/not-modified': reply.json('', 304, { location: '/v1/rows' }),
  });
});
afterAll(() => server.close());

const ctx = (): ExecuteContext => ({ params: [], signal: new AbortController().signal, fragmentId: 'f' });

function run(query: HttpQuery, options: { maxRequests?: number } = {}): Promise<Row[]> {
  const source = httpSource({ baseUrl: `${server.url}/v1`, headers: { 'x-api-key': 'k-77' }, ...options });
  return source.execute(query, ctx()) as Promise<Row[]>;
}

describe('httpSource: redirects', () => {
  it('turns a POST answered 303 into a GET without the body and without the headers that described it', async () => {
    expect(await run({ method: 'POST', path: '/search', body: { q: 1 } })).toEqual([{ method: 'GET', type: null, key: 'k-77', body: '' }]);
  });

  it('does not follow a redirect that leaves the baseUrl path, on the same origin', async () => {
    const error = await failure(run({ path: '/escape' }));
    expect(error).toMatchObject({ code: 'SOURCE_BAD_RESPONSE', retryable: false });
    expect(error.message).toBe(`GET ${server.url}/v1/escape redirects to /admin/rows, outside ${server.url}/v1/; not followed`);
    expect(server.hits('GET /admin/rows')).toBe(0);
  });

  it('counts each request a redirect leads to in maxRequests', async () => {
    expect(await run({ path: '/hop1' }, { maxRequests: 3 })).toEqual([{ method: 'GET', type: null, key: 'k-77', body: '' }]);
    const before = server.hits('GET /v1/hop2');
    const error = await failure(run({ path: '/hop1' }, { maxRequests: 2 }));
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(error.message).toContain('more than maxRequests=2 requests for the fragment');
    expect(server.hits('GET /v1/hop2') - before).toBe(1);
  });

  it('answers a 3xx that is no redirect (304) as an error status, not followed', async () => {
    const before = server.hits('GET /v1/rows');
    const error = await failure(run({ path: '/not-modified' }));
    expect(error).toMatchObject({ code: 'FRAGMENT_FAILED', driverCode: '304' });
    expect(server.hits('GET /v1/rows')).toBe(before);
  });
});
