import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpSource, type HttpQuery } from '../../src/sources/http/connector.js';
import type { ExecuteContext } from '../../src/sources/source.js';
import type { Row } from '../../src/data/row.js';
import { failure, reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';

/** Answers a careless or hostile server may send: each fails the call with a TributaryError saying where. */

let server: TestHttpServer;

beforeAll(async () => {
  server = await startHttpServer({
    'GET /bad-location': reply.json('', 302, { location: 'http://[::1' }),
    'GET /bad-link': reply.json([{ a: 1 }], 200, { link: '<http://[::1>; rel="next"' }),
  });
});
afterAll(() => server.close());

const source = () => httpSource({ baseUrl: server.url });

function run(query: unknown): Promise<Row[]> {
  const on = source();
  const ctx: ExecuteContext = { params: [], signal: new AbortController().signal, fragmentId: 'f1' };
  return on.execute(on.querySchema.parse(query) as HttpQuery, ctx) as Promise<Row[]>;
}

describe('httpSource: URLs a server hands back', () => {
  it('answers SOURCE_BAD_RESPONSE, not a raw TypeError, for a redirect to a Location that is no URL', async () => {
    const error = await failure(run({ path: '/bad-location' }));
    expect(error).toMatchObject({ code: 'SOURCE_BAD_RESPONSE', retryable: false });
    expect(error.message).toContain(`GET ${server.url}/bad-location redirects to "http://[::1", which is no URL`);
  });

  it('answers SOURCE_BAD_RESPONSE, not a raw TypeError, for a Link rel="next" that is no URL', async () => {
    const error = await failure(run({ path: '/bad-link', paginate: { type: 'link' } }));
    expect(error).toMatchObject({ code: 'SOURCE_BAD_RESPONSE', retryable: false });
    expect(error.message).toContain(`${server.url}/bad-link: Link rel="next" points to "http://[::1", which is no URL`);
  });
});

describe('httpSource: a body that breaks off', () => {
  it('names the request, even through a fetch option whose responses carry no url', async () => {
    const stub: typeof fetch = () => {
      let pulls = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (pulls++ === 0) controller.enqueue(new TextEncoder().encode('[{"a":'));
          else controller.error(new Error('connection reset'));
        },
      });
      return Promise.resolve(new Response(body, { headers: { 'content-type': 'application/json' } }));
    };
    const stubbed = httpSource({ baseUrl: 'https://api.example.com/v1', fetch: stub });
    const ctx: ExecuteContext = { params: [], signal: new AbortController().signal, fragmentId: 'f1' };
    const error = await failure(stubbed.execute({ path: '/x' }, ctx) as Promise<Row[]>);
    expect(error.code).toBe('SOURCE_BAD_RESPONSE');
    expect(error.message).toBe('GET https://api.example.com/v1/x sent a body that ended early or could not be read');
  });
});

describe('httpSource: a server that does not speak HTTP', () => {
  it('answers SOURCE_BAD_RESPONSE naming the parse error, not "could not be reached"', async () => {
    // A TCP server that answers every request with a line that is no HTTP status line.
    const tcp = createServer((socket) => socket.once('data', () => socket.end('HELLO THERE\r\n\r\n')));
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(tcp.address() as AddressInfo).port}`;
      const on = httpSource({ baseUrl: url });
      const ctx: ExecuteContext = { params: [], signal: new AbortController().signal, fragmentId: 'f1' };
      const error = await failure(on.execute({ path: '/x' }, ctx) as Promise<Row[]>);
      expect(error).toMatchObject({ code: 'SOURCE_BAD_RESPONSE', retryable: false, driverCode: 'HPE_INVALID_CONSTANT' });
      expect(error.message).toBe(`GET ${url}/x answered something that is not HTTP (HPE_INVALID_CONSTANT)`);
    } finally {
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    }
  });
});
