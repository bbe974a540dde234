import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, httpSource, type Executor } from '../../src/index.js';
import { reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';

/**
 * An httpSource's lone call is bounded by its response bodies, not by the estimate of its rows
 * (several times a JSON body). Its cache hit used to be held to that estimate: the same plan
 * under `maxBytes: 200000` passed when it called the API (36 KB of body) and failed
 * LIMIT_EXCEEDED ("270000 bytes (estimated) from the cache") on the second run, from its own
 * entry. A hit past a run's bounds is now a miss: the call decides, as it did the first time.
 */
describe('a cache hit of an httpSource fragment under a byte bound its body fits', () => {
  let server: TestHttpServer;
  // 3000 rows of `{"id":n}`: about 36 KB of JSON, 270 KB by the row estimate.
  const rows = Array.from({ length: 3000 }, (_, id) => ({ id }));
  beforeAll(async () => {
    server = await startHttpServer({ 'GET /big': reply.json(rows), 'GET /ids': reply.json([{ n: 1 }]) });
  });
  afterAll(() => server.close());

  const whole = (limits: object) => ({ ...limits, fragments: [{ id: 'f', source: 'api', query: { path: '/big' } }] });
  // Bound: its key is known only once `ids` ran, so its hit is looked up in the pipeline.
  const bound = (limits: object) => ({
    ...limits,
    fragments: [
      { id: 'ids', source: 'api', query: { path: '/ids' } },
      { id: 'f', source: 'api', dependsOn: ['ids'], query: { path: '/big', searchParams: { n: { $from: 'ids', column: 'n' } } } },
    ],
    merge: 'f',
  });

  const cases: { name: string; executor: () => Executor; limits: object }[] = [
    { name: "the executor's rowLimits", executor: () => createExecutor({ sources: { api: httpSource({ baseUrl: server.url }) }, rowLimits: { maxBytes: 200_000 } }), limits: {} },
    { name: "the plan's limits", executor: () => createExecutor({ sources: { api: httpSource({ baseUrl: server.url }) } }), limits: { limits: { maxBytes: 200_000 } } },
  ];
  for (const c of cases)
    for (const [shape, plan] of [['whole', whole], ['bound', bound]] as const)
      it(`answers the second run as the first (${c.name}, ${shape} fragment)`, async () => {
        const executor = c.executor();
        try {
          const first = await executor.execute(plan(c.limits));
          expect(first.status).toBe('ok');
          expect(first.rows).toEqual(rows);
          const second = await executor.execute(plan(c.limits));
          expect(second.errors).toEqual([]);
          expect(second.status).toBe('ok');
          expect(second.rows).toEqual(rows);
        } finally {
          await executor.close();
        }
      });
});
