import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpSource, type HttpQuery, type HttpSourceOptions } from '../../src/sources/http/connector.js';
import type { ExecuteContext, SourceExecutor } from '../../src/sources/source.js';
import type { Row } from '../../src/data/row.js';
import { failure, reply, startHttpServer, within, type TestHttpServer } from '../support/http-server.js';

let server: TestHttpServer;

beforeAll(async () => {
  server = await startHttpServer({
    'GET /two/:id': reply.dynamic((req) => [{ id: req.params.id }, { id: req.params.id }]),
    'GET /large': reply.large(50_000), // about 5.5 MB, streamed without Content-Length
    'GET /small': reply.json([{ a: 'more than ten bytes' }]),
    'GET /rates': reply.json([]),
    'GET /stall': reply.stall(),
  });
});
afterAll(() => server.close());

function ctx(overrides: Partial<ExecuteContext> = {}): ExecuteContext {
  return { params: [], signal: new AbortController().signal, fragmentId: 'f1', ...overrides };
}

const source = () => httpSource({ baseUrl: server.url });

function run(query: unknown, context = ctx(), on: SourceExecutor<HttpQuery> = source()): Promise<Row[]> {
  return on.execute(on.querySchema.parse(query), context) as Promise<Row[]>;
}

/** Runs a query whose bound lists are already resolved to arrays, as the engine passes them. */
function runResolved(query: HttpQuery, context: ExecuteContext, on: SourceExecutor<HttpQuery>): Promise<Row[]> {
  return on.execute(query, context) as Promise<Row[]>;
}

describe('httpSource limits', () => {
  it('stops at maxRows, over all per-value requests, naming the fragment', async () => {
    const limited = httpSource({ baseUrl: server.url, maxRows: 5 });
    const error = await failure(runResolved({ path: '/two/{id}', pathParams: { id: [1, 2, 3] } }, ctx(), limited));
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(error.message).toContain('fragment f1');
    expect(await runResolved({ path: '/two/{id}', pathParams: { id: [1, 2] } }, ctx(), limited)).toHaveLength(4);
  });

  it('takes the smaller of the source option and ctx.limits', async () => {
    const limited = httpSource({ baseUrl: server.url, maxRows: 100 });
    const error = await failure(runResolved({ path: '/two/{id}', pathParams: { id: [1] } }, ctx({ limits: { maxRows: 1 } }), limited));
    expect(error.code).toBe('LIMIT_EXCEEDED');
  });

  it('stops reading a body once it passes maxBytes', async () => {
    const error = await failure(run({ path: '/large' }, ctx({ limits: { maxBytes: 10_000 } })));
    expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(error.message).toContain('maxBytes=10000');
  });

  it('refuses a declared Content-Length over maxBytes before reading the body', async () => {
    const limited = httpSource({ baseUrl: server.url, maxBytes: 10 });
    expect((await failure(run({ path: '/small' }, ctx(), limited))).code).toBe('LIMIT_EXCEEDED');
  });
});

describe('httpSource lifecycle', () => {
  it('validates its options with CONFIG_INVALID', () => {
    const refused: HttpSourceOptions[] = [{ baseUrl: 'ftp://x' }, { baseUrl: 'http://u:p@x' }, { baseUrl: 'http://x', maxRows: 0 }, { baseUrl: 'http://x', headers: { 'bad name': 'v' } }, { baseUrl: 'http://x', headers: { 'x-name': 'Jürgen ✓' } }, { baseUrl: 'http://x', headers: { Expect: '100-continue' } }];
    for (const options of refused) {
      expect(() => httpSource(options)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error);
    }
  });

  it("has kind 'http', a version naming the origin, and an idempotent close", async () => {
    const closing = httpSource({ baseUrl: `${server.url}/api/v1` });
    expect(closing.kind).toBe('http');
    expect(await closing.version?.()).toBe(`http:${server.url}`);
    await closing.close?.();
    await closing.close?.();
    expect((await failure(run({ path: '/rates' }, ctx(), closing))).code).toBe('CLOSED');
  });

  it('sends its requests through the fetch option when given', async () => {
    const seen: string[] = [];
    const stub: typeof fetch = (input) => {
      seen.push(String(input));
      return Promise.resolve(Response.json([{ stubbed: true }]));
    };
    const stubbed = httpSource({ baseUrl: 'https://api.example.com/v1', fetch: stub });
    expect(await run({ path: '/x', searchParams: { q: 'a b' } }, ctx(), stubbed)).toEqual([{ stubbed: true }]);
    expect(seen).toEqual(['https://api.example.com/v1/x?q=a+b']);
  });

  it('close() stops the calls still running', async () => {
    const closing = httpSource({ baseUrl: server.url });
    const pending = failure(run({ path: '/stall' }, ctx(), closing));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await closing.close?.();
    expect((await within(1000, pending))?.code).toBe('CLOSED');
  });
});
