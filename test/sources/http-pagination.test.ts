import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpSource, type HttpQuery } from '../../src/sources/http/connector.js';
import type { ExecuteContext, SourceExecutor } from '../../src/sources/source.js';
import type { Row } from '../../src/data/row.js';
import { failure, reply, startHttpServer, type RecordedRequest, type TestHttpServer } from '../support/http-server.js';

/** 23 items served 10 at a time by every pagination style. */
const ITEMS = Array.from({ length: 23 }, (_, i) => ({ i }));
const slice = (from: number, count: number) => ITEMS.slice(from, from + count);
const param = (req: RecordedRequest, name: string) => req.url.searchParams.get(name);

let server: TestHttpServer;
let source: SourceExecutor<HttpQuery>;

beforeAll(async () => {
  server = await startHttpServer({
    // cursor: the cursor is the next index, absent on the last page
    'GET /cursor': reply.dynamic((req) => {
      const at = Number(param(req, 'after') ?? 0);
      return { items: slice(at, 10), meta: { next: at + 10 < ITEMS.length ? String(at + 10) : null } };
    }),
    'GET /pages': reply.dynamic((req) => {
      const size = Number(param(req, 'per_page') ?? 5);
      return slice((Number(param(req, 'page')) - 1) * size, size);
    }),
    'GET /offset': reply.dynamic((req) => slice(Number(param(req, 'offset')), Number(param(req, 'limit')))),
    // link: relative next links, as GitHub-style APIs send them
    'GET /linked': reply.dynamic(
      (req) => slice(Number(param(req, 'at') ?? 0), 10),
      (req): Record<string, string> => {
        const next = Number(param(req, 'at') ?? 0) + 10;
        return next < ITEMS.length ? { link: `</linked?at=${next}>; rel="next", </linked?at=0>; rel="first"` } : {};
      },
    ),
    'GET /endless': reply.dynamic((req) => ({ items: [{ n: param(req, 'c') }], next: `${Number(param(req, 'c') ?? 0) + 1}` })),
  });
  source = httpSource({ baseUrl: server.url });
});
afterAll(() => server.close());

function ctx(overrides: Partial<ExecuteContext> = {}): ExecuteContext {
  return { params: [], signal: new AbortController().signal, fragmentId: 'paged', ...overrides };
}

function run(query: unknown, on = source, context = ctx()): Promise<Row[]> {
  return on.execute(on.querySchema.parse(query), context) as Promise<Row[]>;
}

/** The requests of `route` made while `body` ran. */
async function requestsDuring(route: string, body: () => Promise<unknown>): Promise<RecordedRequest[]> {
  const before = server.requests.length;
  await body();
  return server.requests.slice(before).filter((r) => r.route === route);
}

describe('httpSource pagination', () => {
  it('follows a cursor read with a JSON pointer until it is null', async () => {
    let rows: Row[] = [];
    const sent = await requestsDuring('GET /cursor', async () => {
      rows = await run({ path: '/cursor', rows: '/items', paginate: { type: 'cursor', cursor: '/meta/next', param: 'after' } });
    });
    expect(rows).toEqual(ITEMS);
    expect(sent.map((r) => r.url.search)).toEqual(['', '?after=10', '?after=20']);
  });

  it('counts pages from start, with a page size, until a page is empty', async () => {
    let rows: Row[] = [];
    const sent = await requestsDuring('GET /pages', async () => {
      rows = await run({ path: '/pages', paginate: { type: 'page', param: 'page', size: { param: 'per_page', value: 10 } } });
    });
    expect(rows).toEqual(ITEMS);
    expect(sent.map((r) => r.url.search)).toEqual([1, 2, 3, 4].map((p) => `?page=${p}&per_page=10`));
  });

  it('moves an offset until fewer than limit rows come back', async () => {
    let rows: Row[] = [];
    const sent = await requestsDuring('GET /offset', async () => {
      rows = await run({ path: '/offset', paginate: { type: 'offset', param: 'offset', limitParam: 'limit', limit: 10 } });
    });
    expect(rows).toEqual(ITEMS);
    expect(sent.map((r) => param(r, 'offset'))).toEqual(['0', '10', '20']);
  });

  it('follows Link rel="next" on the same origin', async () => {
    const sent = await requestsDuring('GET /linked', async () => {
      expect(await run({ path: '/linked', paginate: { type: 'link' } })).toEqual(ITEMS);
    });
    expect(sent).toHaveLength(3);
  });

  it('refuses a Link rel="next" to another origin, which would receive the source headers', async () => {
    const other = await startHttpServer({ 'GET /next': reply.json([{ leaked: true }]) });
    try {
      server.route('GET /hop', reply.dynamic(() => [{ a: 1 }], () => ({ link: `<${other.url}/next>; rel="next"` })));
      const withKey = httpSource({ baseUrl: server.url, headers: { authorization: 'Bearer secret' } });
      const error = await failure(run({ path: '/hop', paginate: { type: 'link' } }, withKey));
      expect(error.code).toBe('SOURCE_BAD_RESPONSE');
      expect(error.message).toContain('another origin');
      expect(other.requests).toHaveLength(0);
    } finally {
      await other.close();
    }
  });

  it('refuses a Link rel="next" out of the baseUrl path on the same origin, as a query path may not leave it', async () => {
    server.route('GET /v2/hop', reply.dynamic(() => [{ a: 1 }], () => ({ link: '</admin/rows>; rel="next"' })));
    server.route('GET /admin/rows', reply.json([{ admin: true }]));
    const under = httpSource({ baseUrl: `${server.url}/v2`, headers: { authorization: 'Bearer secret' } });
    const error = await failure(run({ path: '/hop', paginate: { type: 'link' } }, under));
    expect(error).toMatchObject({ code: 'SOURCE_BAD_RESPONSE', retryable: false });
    expect(error.message).toBe(`${server.url}/v2/hop: Link rel="next" points to /admin/rows, outside ${server.url}/v2/; not followed`);
    expect(server.hits('GET /admin/rows')).toBe(0);
  });

  it('fails at once, SOURCE_BAD_RESPONSE, when a cursor or a Link leads back to a page already read', async () => {
    // A cursor that never moves, and Links that go round in a circle of two pages.
    server.route('GET /stuck', reply.dynamic(() => ({ items: [{ n: 1 }], next: 'same' })));
    server.route(
      'GET /circle',
      reply.dynamic(
        (req) => [{ at: param(req, 'at') ?? 'a' }],
        (req): Record<string, string> => ({ link: `</circle?at=${param(req, 'at') === 'b' ? 'a' : 'b'}>; rel="next"` }),
      ),
    );
    const stuck = await requestsDuring('GET /stuck', async () => {
      const error = await failure(run({ path: '/stuck', rows: '/items', paginate: { type: 'cursor', cursor: '/next', param: 'c' } }));
      expect(error.code).toBe('SOURCE_BAD_RESPONSE');
      expect(error.message).toContain('pagination (cursor) does not advance');
    });
    // The first page, the page its cursor names, then that cursor again: not sent.
    expect(stuck).toHaveLength(2);
    const circle = await requestsDuring('GET /circle', async () => {
      const error = await failure(run({ path: '/circle', paginate: { type: 'link' } }));
      expect(error.code).toBe('SOURCE_BAD_RESPONSE');
      expect(error.message).toContain(`its next page is ${server.url}/circle?at=…, already read`);
    });
    expect(circle.map((r) => param(r, 'at'))).toEqual([null, 'b', 'a']);
  });

  it('stops with LIMIT_EXCEEDED after maxPages requests, without sending the next', async () => {
    const paginate = { type: 'cursor', cursor: '/next', param: 'c', maxPages: 3 } as const;
    const sent = await requestsDuring('GET /endless', async () => {
      const error = await failure(run({ path: '/endless', rows: '/items', paginate }));
      expect(error.code).toBe('LIMIT_EXCEEDED');
      expect(error.message).toBe('fragment paged: pagination (cursor) has more than maxPages=3 pages');
    });
    expect(sent).toHaveLength(3);
  });

  it('bounds pages by the smaller of the source maxPages and the query maxPages (default 100)', async () => {
    const strict = httpSource({ baseUrl: server.url, maxPages: 2 });
    const paginate = { type: 'cursor', cursor: '/next', param: 'c', maxPages: 50 } as const;
    const sent = await requestsDuring('GET /endless', () => failure(run({ path: '/endless', rows: '/items', paginate }, strict)));
    expect(sent).toHaveLength(2);
    const unbounded = await requestsDuring('GET /endless', () =>
      failure(run({ path: '/endless', rows: '/items', paginate: { type: 'cursor', cursor: '/next', param: 'c' } })),
    );
    expect(unbounded).toHaveLength(100);
  });

  it('counts maxRows across pages', async () => {
    const limited = httpSource({ baseUrl: server.url, maxRows: 15 });
    const error = await failure(run({ path: '/offset', paginate: { type: 'offset', param: 'offset', limitParam: 'limit', limit: 10 } }, limited));
    expect(error.code).toBe('LIMIT_EXCEEDED');
  });

  it('paginates each value of a bound list, keeping value order', async () => {
    server.route('GET /groups/:g', reply.dynamic((req) => {
      const page = Number(param(req, 'page'));
      return page <= 2 ? [{ g: req.params.g, page }] : [];
    }));
    const query: HttpQuery = { path: '/groups/{g}', pathParams: { g: ['b', 'a'] }, paginate: { type: 'page', param: 'page' } };
    const rows = await (source.execute(query, ctx()) as Promise<Row[]>);
    expect(rows).toEqual([{ g: 'b', page: 1 }, { g: 'b', page: 2 }, { g: 'a', page: 1 }, { g: 'a', page: 2 }]);
  });
});
