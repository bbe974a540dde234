import { expect, it } from 'vitest';
import { createExecutor, httpSource, type Plan } from '../../src/index.js';
import { reply, startHttpServer, type RouteHandler } from '../support/http-server.js';

/**
 * limits.allowIdempotentRetry: false keeps a plan from getting its writes retried; since
 * `hedge: { idempotent: true }` lifts the retry rule too, a plan may not say that either.
 */
it('allowIdempotentRetry: false refuses a plan hedge.idempotent, which would retry its POST', async () => {
  let n = 0;
  const route: RouteHandler = (req, res) => (n++ === 0 ? reply.status(502)(req, res) : reply.json([{ id: 1 }])(req, res));
  const server = await startHttpServer({ 'POST /orders': route });
  const executor = createExecutor({ sources: { api: httpSource({ baseUrl: server.url }) }, cache: false, retry: { attempts: 3, initialDelayMs: 0, jitter: 'none' }, limits: { allowIdempotentRetry: false } });
  try {
    const plan: Plan = { fragments: [{ id: 'f', source: 'api', query: { method: 'POST', path: '/orders', body: { sku: 'x' } }, hedge: { idempotent: true } }] };
    const outcome = await executor.execute(plan).catch((error: unknown) => error);
    expect(server.hits('POST /orders')).toBe(0);
    expect(outcome).toMatchObject({ code: 'PLAN_INVALID', issues: [{ path: 'fragments[0].hedge.idempotent' }] });
    // The executor's own word is not bound by it.
    expect(() => executor.validate({ fragments: [{ id: 'f', source: 'api', query: { method: 'POST', path: '/orders' } }] })).not.toThrow();
  } finally {
    await executor.close();
    await server.close();
  }
});
