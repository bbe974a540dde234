import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpSource } from '../../src/sources/http/connector.js';
import type { ExecuteContext } from '../../src/sources/source.js';
import { failure, startHttpServer, type TestHttpServer } from '../support/http-server.js';

let server: TestHttpServer;
beforeAll(async () => {
  server = await startHttpServer({
    // Six layers: one more than undici decodes (it refuses the response, with no error code).
    'GET /layers': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip, gzip, gzip, gzip, gzip, gzip' });
      res.end('[]');
    },
  });
});
afterAll(() => server.close());

const ctx = (): ExecuteContext => ({ params: [], signal: new AbortController().signal, fragmentId: 'f' });

describe('httpSource: a response with more Content-Encoding layers than undici decodes', () => {
  it('is SOURCE_BAD_RESPONSE, not retried — the server answered, it was not "could not be reached"', async () => {
    const source = httpSource({ baseUrl: server.url });
    const error = await failure(Promise.resolve(source.execute({ path: '/layers' }, ctx())));
    expect(error).toMatchObject({ code: 'SOURCE_BAD_RESPONSE', retryable: false });
    expect(error.message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/layers answered a body it cannot decode \(.*too many content-encodings/);
    expect(error.message).not.toContain('could not be reached');
    expect(source.isRetryable!(error)).toBe(false);
  });
});
