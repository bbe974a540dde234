import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, httpSource, memorySource, plan, from, type Executor, type HttpSourceOptions } from '../../src/index.js';
import { reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';

/**
 * httpSource's `maxBytes` bounds the response bodies each call reads. A batched bind join's
 * batches are each such a call: the fragment's batches together are not held to that body
 * bound by the executor's row estimate (another measure, several times a JSON body's size),
 * so the same requests pass as one call or as batches.
 */
let server: TestHttpServer;
const executors: Executor[] = [];
// 2,000 small rows per request: about 43 KB of JSON, about 226 KB of estimated rows.
const ROWS = Array.from({ length: 2000 }, (_, i) => ({ id: i, v: 'abc' }));

beforeAll(async () => {
  server = await startHttpServer({ 'GET /items': reply.dynamic(() => ROWS) });
});
afterEach(async () => {
  for (const e of executors.splice(0)) await e.close();
});
afterAll(() => server.close());

async function run(options: Partial<HttpSourceOptions>, batched: boolean, rowLimits: { maxBytes?: number } = {}) {
  const e = createExecutor({
    sources: { up: memorySource({ tables: { keys: [{ k: 1 }, { k: 2 }] } }), api: httpSource({ baseUrl: server.url, ...options }) },
    cache: false,
    retry: { attempts: 1 },
    rowLimits,
  });
  executors.push(e);
  const p = plan('bytes')
    .fragment('u', 'up', { table: 'keys' })
    .fragment('a', 'api', { path: '/items', searchParams: { k: from('u', 'k') }, list: 'each' }, { dependsOn: ['u'], ...(batched ? { batch: { param: 0, size: 1 } } : {}) })
    .merge('a')
    .build();
  return e.execute(p);
}

describe("httpSource({ maxBytes }) over a batched bind join's batches", () => {
  it('passes the same two requests as one call or as two batches when their bodies fit', async () => {
    const one = await run({ maxBytes: 200_000 }, false);
    expect(one.errors).toEqual([]);
    expect(one.rows).toHaveLength(4000);
    const batches = await run({ maxBytes: 200_000 }, true);
    expect(batches.errors).toEqual([]);
    expect(batches.rows).toHaveLength(4000);
  });

  it('still fails a call whose body passes it, and the executor’s maxBytes still bounds the batches together', async () => {
    const small = await run({ maxBytes: 10_000 }, true);
    expect(small.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'a', message: expect.stringContaining('maxBytes=10000') })]);
    const capped = await run({ maxBytes: 200_000 }, true, { maxBytes: 300_000 });
    expect(capped.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'a', message: expect.stringContaining('over its batches, more than maxBytes=300000') })]);
  });
});
