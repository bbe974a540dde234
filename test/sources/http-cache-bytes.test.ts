import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, httpSource, memorySource, plan, from } from '../../src/index.js';
import { reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';

/**
 * A cached httpSource fragment is held to its byte bound in the measure it was fetched under
 * (response bodies as read), so a run whose requests fit still fits when served from the
 * cache, rather than failing LIMIT_EXCEEDED on an estimate of its rows (several times a body).
 */
let server: TestHttpServer;
// 2,000 small rows per request: about 43 KB of JSON, about 226 KB of estimated rows.
const ROWS = Array.from({ length: 2000 }, (_, i) => ({ id: i, v: 'abc' }));

beforeAll(async () => {
  server = await startHttpServer({ 'GET /items': reply.dynamic(() => ROWS) });
});
afterAll(() => server.close());

describe('a cached httpSource fragment under a byte bound', () => {
  it('is served from the cache when its bodies fit, as one call or as batches', async () => {
    for (const batched of [false, true]) {
      const e = createExecutor({
        sources: { up: memorySource({ tables: { keys: [{ k: 1 }, { k: 2 }] } }), api: httpSource({ baseUrl: server.url }) },
        retry: { attempts: 1 },
        rowLimits: { maxBytes: 300_000 },
      });
      try {
        const p = plan('cached-bytes')
          .fragment('u', 'up', { table: 'keys' })
          .fragment('a', 'api', { path: '/items', searchParams: { k: from('u', 'k') } }, { dependsOn: ['u'], ...(batched ? { batch: { param: 0, size: 1 } } : {}) })
          .merge('a')
          .build();
        // 86 KB of bodies, 452 KB of estimated rows: within the bound as fetched.
        const fetched = await e.execute(p);
        expect(fetched.errors).toEqual([]);
        const before = server.hits('GET /items');
        const cached = await e.execute(p);
        expect(cached.errors).toEqual([]);
        expect(cached.rows).toHaveLength(4000);
        expect(cached.fragments.a).toMatchObject({ cached: true });
        expect(server.hits('GET /items')).toBe(before);
      } finally {
        await e.close();
      }
    }
  });
});
