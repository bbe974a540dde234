import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, httpSource, memorySource, plan, from, type Executor, type HttpSourceOptions } from '../../src/index.js';
import { reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';

/**
 * An httpSource fragment's byte bound (its `maxBytes`, the executor's `rowLimits.maxBytes`, the
 * plan's, else the 64 MiB default) is on response bodies as read, over all its calls: a
 * batched bind join's batches add up what each call read, as one call counts all its
 * requests. So the same requests pass, or fail, as one call or as batches; no row estimate
 * (several times a JSON body's size) holds the batches to another measure.
 */
let server: TestHttpServer;
const executors: Executor[] = [];
// 2,000 small rows per request: about 43 KB of JSON, about 226 KB of estimated rows.
const ROWS = Array.from({ length: 2000 }, (_, i) => ({ id: i, v: 'abc' }));
// 560,000 empty rows per request: 1.7 MB of JSON, 34 MiB of estimated rows (64 bytes a row).
const EMPTY = `[${Array.from({ length: 560_000 }, () => '{}').join(',')}]`;

beforeAll(async () => {
  // Connection: close: the parses here hold this process (the server's too) for seconds, past
  // the server's keep-alive timeout, and a kept connection could be reused as it closes it.
  const close = { connection: 'close' };
  server = await startHttpServer({ 'GET /items': reply.dynamic(() => ROWS, () => close), 'GET /empty': reply.json(EMPTY, 200, close) });
});
afterEach(async () => {
  for (const e of executors.splice(0)) await e.close();
});
afterAll(() => server.close());

async function run(options: Partial<HttpSourceOptions>, batched: boolean, rowLimits: { maxBytes?: number } = {}, path = '/items') {
  const e = createExecutor({
    sources: { up: memorySource({ tables: { keys: [{ k: 1 }, { k: 2 }] } }), api: httpSource({ baseUrl: server.url, ...options }) },
    cache: false,
    retry: { attempts: 1 },
    rowLimits,
  });
  executors.push(e);
  const p = plan('bytes')
    .fragment('u', 'up', { table: 'keys' })
    .fragment('a', 'api', { path, searchParams: { k: from('u', 'k') }, list: 'each' }, { dependsOn: ['u'], ...(batched ? { batch: { param: 0, size: 1 } } : {}) })
    .merge('a')
    .build();
  return e.execute(p);
}

describe("an httpSource fragment's byte bound over a batched bind join's batches", () => {
  it('passes the same two requests as one call or as two batches under the 64 MiB default (their bodies, not an estimate of their rows)', async () => {
    // 3.4 MB of bodies; 68 MiB of estimated rows, which held the batches (not the one call) before.
    for (const batched of [false, true]) {
      const result = await run({}, batched, {}, '/empty');
      expect(result.errors).toEqual([]);
      expect(result.rows).toHaveLength(1_120_000);
    }
  });

  it("holds them to the executor's rowLimits.maxBytes the same way, as one call or as batches", async () => {
    for (const batched of [false, true]) {
      const fits = await run({}, batched, { maxBytes: 300_000 });
      expect(fits.errors).toEqual([]);
      expect(fits.rows).toHaveLength(4000);
      const over = await run({}, batched, { maxBytes: 60_000 });
      expect(over.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'a', message: expect.stringContaining('maxBytes=60000') })]);
    }
  });

  it("bounds the fragment's bodies with the source's own maxBytes, all its batches together", async () => {
    // Each body (43 KB) fits in 60,000 bytes alone; the fragment's two do not.
    const one = await run({ maxBytes: 60_000 }, false);
    expect(one.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'a', message: expect.stringContaining('more than maxBytes=60000 bytes') })]);
    const batches = await run({ maxBytes: 60_000 }, true);
    expect(batches.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'a', message: expect.stringContaining('bytes over its batches, more than maxBytes=60000') })]);
    expect(batches.errors[0]!.issues).toEqual([expect.objectContaining({ path: 'fragments.a' })]);
    const small = await run({ maxBytes: 10_000 }, true);
    expect(small.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'a', message: expect.stringContaining('maxBytes=10000') })]);
    expect((await run({ maxBytes: 100_000 }, true)).rows).toHaveLength(4000);
  });

  it('lifts both with maxBytes: null (or Infinity) on the source', async () => {
    // 3.4 MB of bodies, 68 MiB of estimated rows: past no bound once the default is lifted.
    expect((await run({ maxBytes: null }, true, {}, '/empty')).rows).toHaveLength(1_120_000);
    for (const batched of [false, true]) expect((await run({ maxBytes: Infinity }, batched)).rows).toHaveLength(4000);
  });
});
