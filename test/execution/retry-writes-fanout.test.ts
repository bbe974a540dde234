import { expect, it } from 'vitest';
import { createExecutor, httpSource } from '../../src/index.js';
import { reply, startHttpServer, type RouteHandler } from '../support/http-server.js';

/**
 * A call that fans a list out to one POST per value: one POST answered 429 shows nothing of the
 * others, which were answered (done); the call, sending them all again, is not retried.
 */
it('a POST fan-out whose second request is answered 429 does not send the first again', async () => {
  let second = 0;
  const two: RouteHandler = (req, res) => (second++ === 0 ? reply.status(429)(req, res) : reply.json([{ id: 2 }])(req, res));
  const server = await startHttpServer({ 'POST /orders/1': reply.json([{ id: 1 }]), 'POST /orders/2': reply.delay(50, two) });
  const executor = createExecutor({ sources: { api: httpSource({ baseUrl: server.url }) }, cache: false, retry: { attempts: 3, initialDelayMs: 0, jitter: 'none' } });
  try {
    const result = await executor.execute(
      { fragments: [{ id: 'f', source: 'api', query: { method: 'POST', path: '/orders/{id}', pathParams: { id: { $param: 'ids' } } } }] },
      { params: { ids: [1, 2] } },
    );
    expect(server.hits('POST /orders/1')).toBe(1);
    expect(result.status).toBe('failed');
  } finally {
    await executor.close();
    await server.close();
  }
});
