import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpSource, type HttpQuery } from '../../src/sources/http/connector.js';
import type { ExecuteContext, SourceExecutor } from '../../src/sources/source.js';
import type { Row } from '../../src/data/row.js';
import { closedPort, failure, reply, startHttpServer, within, type TestHttpServer } from '../support/http-server.js';

let server: TestHttpServer;
let source: SourceExecutor<HttpQuery>;

beforeAll(async () => {
  server = await startHttpServer();
  source = httpSource({ baseUrl: server.url, headers: { 'x-api-key': 'k1', 'x-shared': 'source' } });
});
afterAll(() => server.close());

function ctx(overrides: Partial<ExecuteContext> = {}): ExecuteContext {
  return { params: [], signal: new AbortController().signal, fragmentId: 'f1', ...overrides };
}

/** Validates the query as a plan would be validated, then runs it (already resolved). */
function run(query: unknown, context = ctx(), on = source): Promise<Row[]> {
  return Promise.resolve(on.execute(on.querySchema.parse(query), context) as Promise<Row[]>);
}

/** Runs a query whose values are already resolved (bound lists as arrays), as the engine does. */
function runResolved(query: HttpQuery, context = ctx(), on = source): Promise<Row[]> {
  return on.execute(query, context) as Promise<Row[]>;
}

describe('httpSource options', () => {
  it.each([
    ['/api', 'baseUrl must be an http(s) URL'],
    ['api.example.com', 'baseUrl must be an http(s) URL'],
    ['ftp://files.example/x', 'baseUrl must be an http(s) URL'],
    ['https://api.example/v1?key=1', 'baseUrl may not have a query or hash'],
    ['https://user:pw@api.example/v1', 'put credentials in headers, not in baseUrl'],
  ])('refuses baseUrl %s with CONFIG_INVALID (%s), never a raw TypeError', (baseUrl, message) => {
    let error: unknown;
    try {
      httpSource({ baseUrl });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ name: 'TributaryError', code: 'CONFIG_INVALID', issues: [{ path: 'baseUrl', message }] });
  });
});

describe('httpSource requests', () => {
  it('sends a GET with search params and returns the body as rows', async () => {
    server.route('GET /rates', reply.dynamic((req) => [{ region: req.url.searchParams.get('region'), n: req.url.searchParams.get('n') }]));
    expect(await run({ path: '/rates', searchParams: { region: 'EU', n: 3, skip: null } })).toEqual([{ region: 'EU', n: '3' }]);
    expect(server.requests.at(-1)?.url.search).toBe('?region=EU&n=3');
  });

  it('writes numbers in plain digits in the path and the search params, never in exponent form', async () => {
    server.route('GET /amount/:value', reply.dynamic((req) => [{ path: req.url.pathname, q: req.url.searchParams.get('q') }]));
    const cases: [number, string][] = [
      [1e23, '100000000000000000000000'],
      [1e-7, '0.0000001'],
      [-1.5e-10, '-0.00000000015'],
      [123.456, '123.456'],
      [42, '42'],
    ];
    for (const [value, text] of cases) {
      expect(await runResolved({ path: '/amount/{value}', pathParams: { value }, searchParams: { q: value } } as HttpQuery)).toEqual([{ path: `/amount/${text}`, q: text }]);
    }
  });

  it('sends a POST with a JSON body', async () => {
    server.route('POST /search', reply.dynamic((req) => [{ got: JSON.parse(req.body) as unknown, type: req.headers['content-type'] }]));
    const rows = await run({ method: 'POST', path: '/search', body: { q: 'ada', ids: [1, 2] } });
    expect(rows).toEqual([{ got: { q: 'ada', ids: [1, 2] }, type: 'application/json' }]);
  });

  it('encodes path params so "/", "?" and "#" stay data and land on the right route', async () => {
    server.route('GET /files/:name/meta', reply.dynamic((req) => [{ name: req.params.name, raw: req.rawPath }]));
    const rows = await run({ path: '/files/{name}/meta', pathParams: { name: 'a/b?c=d#e%' } });
    expect(rows).toEqual([{ name: 'a/b?c=d#e%', raw: '/files/a%2Fb%3Fc%3Dd%23e%25/meta' }]);
  });

  it('refuses a path param that would become a ".." segment, without sending anything', async () => {
    const before = server.requests.length;
    const error = await failure(run({ path: '/files/{name}/meta', pathParams: { name: '..' } }));
    expect(error.code).toBe('FRAGMENT_FAILED');
    expect(server.requests.length).toBe(before);
  });

  it('sends the source headers and the query headers, the query winning by name', async () => {
    server.route('GET /whoami', reply.dynamic((req) => [{ key: req.headers['x-api-key'], shared: req.headers['x-shared'] }]));
    const rows = await run({ path: '/whoami', headers: { 'X-Shared': 'query' } });
    expect(rows).toEqual([{ key: 'k1', shared: 'query' }]);
  });

  it('follows a redirect on the same origin but not to another origin', async () => {
    const other = await startHttpServer({ 'GET /steal': reply.json([{ stolen: true }]) });
    try {
      server.route('GET /old', reply.json('', 301, { location: '/rates?region=US' }));
      server.route('GET /away', reply.json('', 302, { location: `${other.url}/steal` }));
      expect(await run({ path: '/old' })).toEqual([{ region: 'US', n: null }]);
      const error = await failure(run({ path: '/away' }));
      expect(error.code).toBe('SOURCE_BAD_RESPONSE');
      expect(other.hits('GET /steal')).toBe(0);
    } finally {
      await other.close();
    }
  });
});

describe('httpSource bound lists', () => {
  it("list 'each' (the default) sends one request per value, at most maxConcurrency at once, rows in value order", async () => {
    let inFlight = 0;
    let peak = 0;
    server.route('GET /users/:id', async (req, res) => {
      peak = Math.max(peak, ++inFlight);
      // Later values answer sooner, so arrival order differs from value order.
      await new Promise((resolve) => setTimeout(resolve, 60 - Number(req.params.id) * 10));
      inFlight--;
      await reply.json([{ id: Number(req.params.id) }])(req, res);
    });
    const narrow = httpSource({ baseUrl: server.url, maxConcurrency: 2 });
    const before = server.hits('GET /users/:id');
    const rows = await runResolved({ path: '/users/{id}', pathParams: { id: [1, 2, 3, 4, 5] } }, ctx(), narrow);
    expect(rows).toEqual([1, 2, 3, 4, 5].map((id) => ({ id })));
    expect(server.hits('GET /users/:id') - before).toBe(5);
    expect(peak).toBe(2);
  });

  it('accepts $from and $param references where a value may be bound', () => {
    const parsed = source.querySchema.safeParse({
      path: '/users/{id}',
      pathParams: { id: { $from: 'customers', column: 'id' } },
      searchParams: { region: { $param: 'region' } },
    });
    expect(parsed.success).toBe(true);
  });

  it("list 'comma' joins a bound list into one search param value", async () => {
    server.route('GET /many', reply.dynamic((req) => [{ ids: req.url.searchParams.get('ids') }]));
    const before = server.hits('GET /many');
    expect(await runResolved({ path: '/many', searchParams: { ids: [1, 'a b', 3] }, list: 'comma' })).toEqual([{ ids: '1,a b,3' }]);
    expect(server.hits('GET /many') - before).toBe(1);
    // One value may hold a comma; one of several cannot be told from the separator, so nothing is sent.
    expect(await runResolved({ path: '/many', searchParams: { ids: 'a,b' }, list: 'comma' })).toEqual([{ ids: 'a,b' }]);
    await expect(runResolved({ path: '/many', searchParams: { ids: [1, 'a,b'] }, list: 'comma' })).rejects.toMatchObject({ message: expect.stringContaining('"a,b" holds a comma') as unknown });
    expect(server.hits('GET /many') - before).toBe(2);
  });

  it("list 'comma' refuses a comma inside one of several path values, as in search params", async () => {
    server.route('GET /tags/:names', reply.dynamic((req) => [{ path: req.url.pathname }]));
    const before = server.requests.length;
    expect(await runResolved({ path: '/tags/{names}', pathParams: { names: ['a', 'b c'] }, list: 'comma' })).toEqual([{ path: '/tags/a,b%20c' }]);
    await expect(runResolved({ path: '/tags/{names}', pathParams: { names: ['a', 'b,c'] }, list: 'comma' })).rejects.toMatchObject({ message: expect.stringContaining('pathParams.names: the value "b,c" holds a comma') as unknown });
    expect(server.requests.length - before).toBe(1);
  });

  it('an empty bound list sends nothing and returns no rows', async () => {
    const before = server.requests.length;
    expect(await runResolved({ path: '/users/{id}', pathParams: { id: [] } })).toEqual([]);
    expect(server.requests.length).toBe(before);
  });

  it("list 'each' refuses two bound lists rather than guess a cross product", async () => {
    const error = await failure(runResolved({ path: '/users/{id}', pathParams: { id: [1] }, searchParams: { t: [1, 2] } }));
    expect(error.code).toBe('FRAGMENT_FAILED');
    expect(error.message).toContain('pathParams.id, searchParams.t');
  });
});

describe('httpSource query validation', () => {
  it.each([
    [{ path: '/users/{id}' }, 'pathParams.id'],
    [{ path: '/users', pathParams: { id: 1 } }, 'pathParams.id'],
    [{ path: '/users', body: {} }, 'body'],
    [{ path: 'users' }, 'path'],
    [{ path: '/users?x=1' }, 'path'],
    [{ path: '/users', rows: 'data' }, 'rows'],
    [{ path: '/users', extra: 1 }, ''],
    [{ path: '/u', searchParams: { page: 1 }, paginate: { type: 'page', param: 'page' } }, 'searchParams.page'],
    // fetch can send only Latin-1 in a header: a check mark would fail every call with a raw TypeError.
    [{ path: '/u', headers: { 'x-name': 'Jürgen ✓' } }, 'headers.x-name'],
    // Headers fetch refuses at send time ("could not be reached") or replaces with its own.
    [{ path: '/u', headers: { 'Transfer-Encoding': 'chunked' } }, 'headers.Transfer-Encoding'],
    [{ path: '/u', headers: { host: 'other.example' } }, 'headers.host'],
  ])('rejects %j at %s', (query, path) => {
    const result = source.querySchema.safeParse(query);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toContain(path);
  });
});

describe('httpSource rows', () => {
  it('finds nested rows with a JSON pointer', async () => {
    server.route('GET /nested', reply.json({ data: { 'a/b': [{ x: 1 }, { x: 2 }] } }));
    expect(await run({ path: '/nested', rows: '/data/a~1b' })).toEqual([{ x: 1 }, { x: 2 }]);
  });

  it.each([
    ['a missing pointer', '/nested', '/data/none'],
    ['a pointer to a non-array', '/nested', '/data'],
    ['a non-array body without pointer', '/nested', undefined],
  ])('answers SOURCE_BAD_RESPONSE for %s', async (_name, path, rows) => {
    const error = await failure(run({ path, ...(rows === undefined ? {} : { rows }) }));
    expect(error.code).toBe('SOURCE_BAD_RESPONSE');
    expect(error.retryable).toBe(false);
  });

  it('answers SOURCE_BAD_RESPONSE for rows that are not objects', async () => {
    server.route('GET /scalars', reply.json([{ a: 1 }, 2]));
    expect((await failure(run({ path: '/scalars' }))).message).toContain('row 1 is a number');
  });

  it('answers SOURCE_BAD_RESPONSE for malformed JSON', async () => {
    server.route('GET /malformed', reply.json('[{"a":1},'));
    expect((await failure(run({ path: '/malformed' }))).code).toBe('SOURCE_BAD_RESPONSE');
  });

  it('answers SOURCE_BAD_RESPONSE, not a raw RangeError, for a body nested too deeply for the exact parse', async () => {
    server.route('GET /deep', reply.json(`[{"id": 12345678901234567890, "a": ${'['.repeat(100_000)}${']'.repeat(100_000)}}]`));
    const error = await failure(run({ path: '/deep' }));
    expect(error).toMatchObject({ code: 'SOURCE_BAD_RESPONSE', retryable: false });
    expect(error.message).toContain('nested too deeply');
  });

  it('answers SOURCE_BAD_RESPONSE, not retryable, for a body cut short of its Content-Length', async () => {
    server.route('GET /truncated', reply.truncated('[{"a":1}', 500));
    const error = await failure(run({ path: '/truncated' }));
    expect(error.code).toBe('SOURCE_BAD_RESPONSE');
    expect(source.isRetryable?.(error)).toBe(false);
  });

  it('keeps __proto__, constructor and prototype keys as plain data', async () => {
    const evil = '[{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"prototype":{"polluted":true},"a":1}]';
    server.route('GET /evil', reply.json(evil));
    server.route('GET /evil-wrapped', reply.json(`{"__proto__":${evil}}`));
    for (const query of [{ path: '/evil' }, { path: '/evil-wrapped', rows: '/__proto__' }]) {
      const [row] = await run(query);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
      expect(Object.keys(row ?? {})).toEqual(['__proto__', 'constructor', 'prototype', 'a']);
      expect((row as { polluted?: unknown }).polluted).toBeUndefined();
    }
    // A pointer cannot walk into inherited members either.
    expect((await failure(run({ path: '/evil', rows: '/0/toString' }))).code).toBe('SOURCE_BAD_RESPONSE');
  });
});

describe('httpSource errors', () => {
  it('answers 429 with SOURCE_UNAVAILABLE, retryable, Retry-After in ms', async () => {
    server.route('GET /busy', reply.status(429, { 'retry-after': '2' }));
    const error = await failure(run({ path: '/busy' }));
    expect(error).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true, driverCode: '429', retryAfterMs: 2000 });
    expect(source.isRetryable?.(error)).toBe(true);
  });

  it("measures a Retry-After date from the response's own Date, not from this machine's clock", async () => {
    // The server's clock is years away from ours: only its own Date makes the wait 3 s.
    server.route('GET /busy-until', reply.status(503, { date: 'Tue, 01 Jan 2030 00:00:00 GMT', 'retry-after': 'Tue, 01 Jan 2030 00:00:03 GMT' }));
    const error = await failure(run({ path: '/busy-until' }));
    expect(error).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true, driverCode: '503', retryAfterMs: 3000 });
  });

  it.each([
    [503, 'SOURCE_UNAVAILABLE', true],
    [502, 'SOURCE_UNAVAILABLE', true],
    [504, 'SOURCE_UNAVAILABLE', true],
    [500, 'FRAGMENT_FAILED', false],
    [404, 'FRAGMENT_FAILED', false],
    [403, 'FRAGMENT_FAILED', false],
  ])('answers %i with %s, retryable %s', async (status, code, retryable) => {
    server.route(`GET /status${status}`, reply.status(status));
    const error = await failure(run({ path: `/status${status}` }));
    expect(error).toMatchObject({ code, retryable, driverCode: String(status) });
    expect(error.message).toContain(`status ${status}`); // the body's excerpt
  });

  it('answers SOURCE_UNAVAILABLE, retryable, when the connection is refused', async () => {
    const dead = httpSource({ baseUrl: `http://127.0.0.1:${await closedPort()}` });
    const error = await failure(run({ path: '/x' }, ctx(), dead));
    expect(error).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true, driverCode: 'ECONNREFUSED' });
  });

  it.each([
    ['before the response', undefined],
    ['while the body is read', '[{"a":1},'],
  ])('stops promptly on abort %s, with the signal reason, closing the socket', async (_when, prefix) => {
    server.route('GET /stall', reply.stall(prefix));
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    setTimeout(() => controller.abort(reason), 100);
    // The stall never ends by itself: only the abort can end the call.
    await expect(run({ path: '/stall' }, ctx({ signal: controller.signal }))).rejects.toBe(reason);
    await within(2000, server.requests.at(-1)?.socketClosed);
  });

  it('aborts the other requests of a bound list when one fails', async () => {
    server.route('GET /mixed/:id', (req, res) => (req.params.id === 'bad' ? reply.status(404)(req, res) : reply.stall()(req, res)));
    // '/mixed/slow' never answers: the call can only end because the 404 aborted it.
    const error = await failure(runResolved({ path: '/mixed/{id}', pathParams: { id: ['slow', 'bad'] } }));
    expect(error.driverCode).toBe('404');
    await within(2000, server.requests.find((r) => r.rawPath === '/mixed/slow')?.socketClosed);
  });

  it('rejects at once with the reason of an already aborted signal', async () => {
    const reason = new Error('too late');
    await expect(run({ path: '/rates' }, ctx({ signal: AbortSignal.abort(reason) }))).rejects.toBe(reason);
  });
});
