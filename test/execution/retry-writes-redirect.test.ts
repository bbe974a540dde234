import { expect, it } from 'vitest';
import { createExecutor, httpSource } from '../../src/index.js';
import { reply, startHttpServer, type RouteHandler } from '../support/http-server.js';

/**
 * A POST answered 303 See Other was done (Post/Redirect/Get): the GET it leads to being
 * refused (429) or not connecting says nothing of the POST, which must not be sent again.
 */
it('a POST redirected 303 to a GET answered 429 is not sent again', async () => {
  let gets = 0;
  const result$: RouteHandler = (req, res) => (gets++ === 0 ? reply.status(429)(req, res) : reply.json([{ id: 1 }])(req, res));
  const server = await startHttpServer({ 'POST /orders': reply.status(303, { location: '/orders/1' }), 'GET /orders/1': result$ });
  const executor = createExecutor({ sources: { api: httpSource({ baseUrl: server.url }) }, cache: false, retry: { attempts: 3, initialDelayMs: 0, jitter: 'none' } });
  try {
    const result = await executor.execute({ fragments: [{ id: 'f', source: 'api', query: { method: 'POST', path: '/orders', body: { sku: 'x' } } }] });
    expect(server.hits('POST /orders')).toBe(1);
    expect(result.status).toBe('failed');
    expect(result.errors[0]!.message).toContain('not retried: the call may have run');
  } finally {
    await executor.close();
    await server.close();
  }
});
