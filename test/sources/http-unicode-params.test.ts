import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpSource, type HttpQuery } from '../../src/sources/http/connector.js';
import type { Row } from '../../src/data/row.js';
import { failure, reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';

/**
 * Bound values outside ASCII in the URL: UTF-8 percent-encoded, and a string no UTF-8 can
 * spell (a lone surrogate, which a JSON body or a database text can hold) refused unsent.
 */

let server: TestHttpServer;
const source = () => httpSource({ baseUrl: server.url });

beforeAll(async () => {
  server = await startHttpServer({
    'GET /items/:id': reply.dynamic((req) => [{ id: req.params.id, q: req.url.searchParams.get('q') }]),
  });
});
afterAll(() => server.close());

function run(query: HttpQuery): Promise<Row[]> {
  return source().execute(query, { params: [], signal: new AbortController().signal, fragmentId: 'f' }) as Promise<Row[]>;
}

describe('httpSource: unicode in bound values', () => {
  it('sends astral and accented characters as UTF-8, in the path and the search params', async () => {
    expect(await run({ path: '/items/{id}', pathParams: { id: 'é😀/?#%2F' }, searchParams: { q: 'ü😀&=' } })).toEqual([{ id: 'é😀/?#%2F', q: 'ü😀&=' }]);
  });

  it.each([
    ['a path param', { path: '/items/{id}', pathParams: { id: 'a\uD800b' } }, 'pathParams.id'],
    ['a search param', { path: '/items/{id}', pathParams: { id: '1' }, searchParams: { q: 'x\uDC00' } }, 'searchParams.q'],
    ['a value of a bound list', { path: '/items/{id}', pathParams: { id: ['1', '\uD83D'] } }, 'pathParams.id'],
  ])('refuses a lone surrogate in %s with FRAGMENT_FAILED, sending nothing (not a URIError, nor U+FFFD in its place)', async (_what, query, where) => {
    const before = server.requests.length;
    const error = await failure(run(query));
    expect(error).toMatchObject({ code: 'FRAGMENT_FAILED', retryable: false });
    expect(error.message).toBe(`${where} holds a lone UTF-16 surrogate (U+D800–U+DFFF), which no URL can carry`);
    expect(server.requests.length).toBe(before);
  });
});
