import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, httpSource, plan, type Executor } from '../../src/index.js';
import { reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';

/**
 * A bound list through the executor, as a service passes one in `params`: it filters like
 * SQL's `IN`, so a null in it matches nothing and a value listed twice gives its rows once;
 * an empty path param addresses no item (it would address the collection).
 */

const items = [{ id: 1 }, { id: 2 }, { id: 3 }];
let server: TestHttpServer;
let executor: Executor;

beforeAll(async () => {
  server = await startHttpServer({
    // Without ?id the API lists every item, as collection endpoints do.
    'GET /items': reply.dynamic((req) => {
      const ids = req.url.searchParams.get('id');
      return ids === null ? items : items.filter((item) => ids.split(',').includes(String(item.id)));
    }),
    'GET /items/:id': reply.dynamic((req) => items.filter((item) => String(item.id) === req.params.id)),
    'POST /search': reply.dynamic((req) => [{ body: req.body }]),
  });
  executor = createExecutor({ sources: { api: httpSource({ baseUrl: server.url }) }, cache: false });
});
afterAll(async () => {
  await executor.close();
  await server.close();
});

async function rowsFor(query: Record<string, unknown>, ids: unknown[]) {
  const before = server.requests.length;
  const result = await executor.execute(plan('lists').fragment('f', 'api', query).build(), { params: { ids } });
  expect(result.errors).toEqual([]);
  return { rows: result.rows, sent: server.requests.slice(before).map((r) => r.rawPath + r.url.search) };
}

describe('httpSource: a bound list filters like IN', () => {
  it("list 'each': a null in the list sends no request, never one without the filter", async () => {
    const search = { path: '/items', searchParams: { id: { $param: 'ids' } } };
    expect(await rowsFor(search, [1, null])).toEqual({ rows: [{ id: 1 }], sent: ['/items?id=1'] });
    expect(await rowsFor(search, [null])).toEqual({ rows: [], sent: [] });
    const path = { path: '/items/{id}', pathParams: { id: { $param: 'ids' } } };
    expect(await rowsFor(path, [null, 3])).toEqual({ rows: [{ id: 3 }], sent: ['/items/3'] });
  });

  it("list 'each': a value listed twice is requested once, so its rows are not doubled", async () => {
    const search = { path: '/items', searchParams: { id: { $param: 'ids' } } };
    expect(await rowsFor(search, [2, 1, 2, '1'])).toEqual({ rows: [{ id: 2 }, { id: 1 }], sent: ['/items?id=2', '/items?id=1'] });
  });

  it('an empty string in a path param list sends no request: /items/ would list every item', async () => {
    const path = { path: '/items/{id}', pathParams: { id: { $param: 'ids' } } };
    expect(await rowsFor(path, ['', 2])).toEqual({ rows: [{ id: 2 }], sent: ['/items/2'] });
    expect(await rowsFor({ ...path, list: 'comma' }, ['', ''])).toEqual({ rows: [], sent: [] });
    // A single empty value cannot address one item either: the call fails, sending nothing.
    const before = server.requests.length;
    const result = await executor.execute(plan('lists').fragment('f', 'api', { path: '/items/{id}', pathParams: { id: '' } }).build());
    expect(result.errors.map((e) => [e.code, e.message])).toEqual([
      ['FRAGMENT_FAILED', 'fragment "f" on source "api" failed (attempt 1): pathParams.id is empty: the path would be "/items/", another resource'],
    ]);
    expect(server.requests.length).toBe(before);
  });

  it("list 'comma': a null is left out of the joined value", async () => {
    const comma = { path: '/items', searchParams: { id: { $param: 'ids' } }, list: 'comma' };
    expect(await rowsFor(comma, [1, null, 3])).toEqual({ rows: [{ id: 1 }, { id: 3 }], sent: ['/items?id=1%2C3'] });
    expect(await rowsFor(comma, [null])).toEqual({ rows: [], sent: [] });
  });
});

describe('httpSource: a $from list with no values', () => {
  it('sends no request for the path or search params, and a body holding the empty list as it is', async () => {
    const run = async (query: (ids: unknown) => Record<string, unknown>) => {
      const before = server.requests.length;
      const result = await executor.execute({
        fragments: [
          { id: 'none', source: 'api', query: { path: '/items', searchParams: { id: '99' } } },
          { id: 'f', source: 'api', dependsOn: ['none'], query: query({ $from: 'none', column: 'id' }) },
        ],
        merge: 'f',
      });
      expect(result.errors).toEqual([]);
      return { rows: result.rows, sent: server.requests.slice(before + 1).map((r) => `${r.method} ${r.rawPath}${r.url.search}`) };
    };
    expect(await run((ids) => ({ path: '/items', searchParams: { id: ids } }))).toEqual({ rows: [], sent: [] });
    expect(await run((ids) => ({ path: '/items/{id}', pathParams: { id: ids } }))).toEqual({ rows: [], sent: [] });
    expect(await run((ids) => ({ method: 'POST', path: '/search', body: { ids } }))).toEqual({ rows: [{ body: '{"ids":[]}' }], sent: ['POST /search'] });
  });
});

describe('httpSource: bound values in a POST body', () => {
  it('sends a bigint run param as its exact JSON number, as it binds into SQL, instead of failing the call', async () => {
    const query = { method: 'POST', path: '/search', body: { ids: { $param: 'ids' } } };
    const result = await executor.execute(plan('body').fragment('f', 'api', query).build(), { params: { ids: [12345678901234567890n, 7n] } });
    expect(result.errors).toEqual([]);
    expect(result.rows).toEqual([{ body: '{"ids":[12345678901234567890,7]}' }]);
  });
});
