import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, httpSource, memorySource, type Executor, type HttpSourceOptions } from '../../src/index.js';
import { reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';

/**
 * `list: 'each'` sends one request per bound value: `maxRequests` (default 1000) caps the
 * requests one call sends, list values and pages together. A list that alone needs more fails
 * before anything is sent; a page past it fails the call there.
 */
let server: TestHttpServer;
const flakySeen = new Set<string>();
const executors: Executor[] = [];

beforeAll(async () => {
  server = await startHttpServer({
    'GET /items/:id': reply.dynamic((req) => [{ id: Number(req.params.id) }]),
    // Two pages per id: page 1 names page 2, page 2 ends the list.
    // Each id's first request answers 503 (retryable), the next ones its row.
    'GET /flaky/:id': (req, res) => {
      const id = req.params.id!;
      const seen = flakySeen.has(id);
      flakySeen.add(id);
      return seen ? reply.json([{ id: Number(id) }])(req, res) : reply.status(503)(req, res);
    },
    'GET /paged/:id': reply.dynamic((req) => (req.url.searchParams.get('page') === '2' ? [] : [{ id: Number(req.params.id) }])),
  });
});
afterEach(async () => {
  for (const e of executors.splice(0)) await e.close();
});
afterAll(() => server.close());

const byId = { path: '/items/{id}', pathParams: { id: { $param: 'ids' } } };
const ids = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

async function run(options: Partial<HttpSourceOptions>, query: Record<string, unknown>, list: number[], retry: { attempts: number; initialDelayMs?: number } = { attempts: 1 }) {
  const e = createExecutor({ sources: { api: httpSource({ baseUrl: server.url, ...options }) }, cache: false, retry });
  executors.push(e);
  const before = server.requests.length;
  const result = await e.execute({ id: 'cap', fragments: [{ id: 'f', source: 'api', query }], merge: 'f' }, { params: { ids: list } });
  return { result, sent: server.requests.length - before };
}

describe('httpSource({ maxRequests })', () => {
  it('fails a list that needs more requests than maxRequests with LIMIT_EXCEEDED at fragments.<id>, sending nothing', async () => {
    const { result, sent } = await run({ maxRequests: 3 }, byId, ids(5));
    expect(result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'f', message: expect.stringContaining('its bound list needs 5 requests') })]);
    expect(result.errors[0]!.issues).toEqual([expect.objectContaining({ path: 'fragments.f' })]);
    expect(sent).toBe(0);
    expect((await run({ maxRequests: 3 }, byId, ids(3))).result.rows).toHaveLength(3);
  });

  it('is 1000 by default; Infinity or null lifts it', async () => {
    const capped = await run({}, byId, ids(1001));
    expect(capped.result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', message: expect.stringContaining('more than maxRequests=1000') })]);
    expect(capped.sent).toBe(0);
    expect((await run({ maxRequests: null, maxConcurrency: 32 }, byId, ids(1001))).result.rows).toHaveLength(1001);
    // Infinity is the same as null (the schema reads null as Infinity): a cap of 3 lifted.
    expect((await run({ maxRequests: Infinity }, byId, ids(5))).result.rows).toHaveLength(5);
  });

  it('counts pages too: the request past the cap is never sent', async () => {
    const paged = { path: '/paged/{id}', pathParams: { id: { $param: 'ids' } }, paginate: { type: 'page', param: 'page' } };
    const { result, sent } = await run({ maxRequests: 3, maxConcurrency: 1 }, paged, ids(2));
    expect(result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'f', message: expect.stringContaining('more than maxRequests=3 requests') })]);
    expect(sent).toBe(3);
    expect((await run({ maxRequests: 4 }, paged, ids(2))).result.rows).toHaveLength(2);
  });

  it('refuses a maxRequests that is no positive integer, Infinity or null (CONFIG_INVALID)', () => {
    for (const bad of [0, -1, 2.5]) expect(() => httpSource({ baseUrl: 'http://127.0.0.1:1', maxRequests: bad })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', issues: [expect.objectContaining({ path: 'maxRequests' })] }));
  });

  it("caps the fragment, not each call: a batched fragment's batches share it, and the batch that does not fit sends nothing", async () => {
    // Four batches of 5 ids (bound from another fragment): each fits under 12 alone, the fragment's 20 requests do not.
    const batched = async (maxRequests: number) => {
      const api = httpSource({ baseUrl: server.url, maxRequests, maxConcurrency: 1 });
      const e = createExecutor({ sources: { api, mem: memorySource({ tables: { ids: ids(20).map((id) => ({ id })) } }) }, cache: false, retry: { attempts: 1 } });
      executors.push(e);
      const before = server.requests.length;
      const result = await e.execute({
        id: 'cap',
        fragments: [
          { id: 'ids', source: 'mem', query: { table: 'ids' } },
          { id: 'f', source: 'api', dependsOn: ['ids'], batch: { param: 0, size: 5 }, query: { path: '/items/{id}', pathParams: { id: { $from: 'ids', column: 'id' } } } },
        ],
        merge: 'f',
      });
      return { result, sent: server.requests.length - before };
    };
    const { result, sent } = await batched(12);
    expect(result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'f', message: expect.stringContaining('more than maxRequests=12 for the fragment') })]);
    expect(result.errors[0]!.issues).toEqual([expect.objectContaining({ path: 'fragments.f' })]);
    expect(sent).toBeLessThanOrEqual(12);
    const fits = await batched(20);
    expect(fits.result.rows).toHaveLength(20);
    expect(fits.sent).toBe(20);
  });

  it("counts a retried call's requests again: the requests actually sent by the fragment", async () => {
    // Three ids, one call, one request at a time: try 1 sends id 1 (503); try 2 sends ids 1
    // and 2 (503); try 3 would need 3 more, past 5 with the 3 sent. Per call, all four tries fit.
    const flaky = { path: '/flaky/{id}', pathParams: { id: { $param: 'ids' } } };
    const capped = await run({ maxRequests: 5, maxConcurrency: 1 }, flaky, ids(3), { attempts: 5, initialDelayMs: 0 });
    expect(capped.result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'f' })]);
    expect(capped.result.errors[0]!.message).toContain('besides the 3 its other calls');
    expect(capped.sent).toBe(3);
  });
});
