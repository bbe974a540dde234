import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpSource } from '../../src/sources/http/connector.js';
import type { ExecuteContext } from '../../src/sources/source.js';
import type { Row } from '../../src/data/row.js';
import { reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';

let server: TestHttpServer;
beforeAll(async () => {
  server = await startHttpServer();
  server.route('GET /rows', reply.dynamic(() => [{ ok: true }]));
  // A redirect that takes 40 ms to come: the hop after it has 40 ms less.
  server.route('GET /moved', reply.delay(40, reply.json('', 307, { location: '/rows' })));
  // Three pages: the header is computed for each request, so it can only shrink.
  server.route('GET /paged', reply.dynamic((req) => {
    const page = Number(req.url.searchParams.get('page'));
    return page <= 3 ? [{ page }] : [];
  }));
});
afterAll(() => server.close());

const ctx = (budgetMs?: number): ExecuteContext => ({ params: [], signal: new AbortController().signal, fragmentId: 'f', ...(budgetMs === undefined ? {} : { budgetMs }) });
const lastHeaders = () => server.requests.at(-1)!.headers;

/** Issue 15 item 5 over HTTP: the call's remaining budget travels as a request header. */
describe('httpSource: the budget as a request header', () => {
  it('sends Request-Timeout: the whole milliseconds left, never more than the budget', async () => {
    const source = httpSource({ baseUrl: server.url });
    expect(await (source.execute({ path: '/rows' }, ctx(1500)) as Promise<Row[]>)).toEqual([{ ok: true }]);
    const value = lastHeaders()['request-timeout'];
    expect(value).toMatch(/^\d+$/);
    expect(Number(value)).toBeLessThanOrEqual(1500);
    expect(Number(value)).toBeGreaterThan(0);
  });

  it('computes it for every page of a pagination loop', async () => {
    const source = httpSource({ baseUrl: server.url });
    const before = server.requests.length;
    const rows = await (source.execute({ path: '/paged', paginate: { type: 'page', param: 'page' } }, ctx(60_000)) as Promise<Row[]>);
    expect(rows).toEqual([{ page: 1 }, { page: 2 }, { page: 3 }]);
    const values = server.requests.slice(before).map((r) => Number(r.headers['request-timeout']));
    expect(values).toHaveLength(4);
    for (const [i, v] of values.entries()) {
      expect(v).toBeLessThanOrEqual(60_000);
      if (i > 0) expect(v).toBeLessThanOrEqual(values[i - 1]!);
    }
  });

  it('computes it again for each redirect hop, not resending the first hop’s value', async () => {
    const source = httpSource({ baseUrl: server.url });
    const before = server.requests.length;
    expect(await (source.execute({ path: '/moved' }, ctx(60_000)) as Promise<Row[]>)).toEqual([{ ok: true }]);
    const [first, second] = server.requests.slice(before).map((r) => Number(r.headers['request-timeout']));
    expect(first).toBeLessThanOrEqual(60_000);
    // At least the redirect's 40 ms passed between the two sends (20: room for a timer firing a little early).
    expect(second).toBeLessThanOrEqual(first! - 20);
  });

  it('takes another header name, overriding a same-named header of the source', async () => {
    const source = httpSource({ baseUrl: server.url, budgetHeader: 'X-Budget-Ms', headers: { 'x-budget-ms': 'from-headers' } });
    await source.execute({ path: '/rows' }, ctx(800));
    expect(Number(lastHeaders()['x-budget-ms'])).toBeLessThanOrEqual(800);
    expect(lastHeaders()['request-timeout']).toBeUndefined();
  });

  it('sends none with budgetHeader: false, nor without a budget', async () => {
    await httpSource({ baseUrl: server.url, budgetHeader: false }).execute({ path: '/rows' }, ctx(800));
    expect(lastHeaders()['request-timeout']).toBeUndefined();
    await httpSource({ baseUrl: server.url }).execute({ path: '/rows' }, ctx());
    expect(lastHeaders()['request-timeout']).toBeUndefined();
  });

  it('refuses a header name that is not a token', () => {
    expect(() => httpSource({ baseUrl: server.url, budgetHeader: 'bad name' })).toThrow(/budgetHeader/);
  });
});
