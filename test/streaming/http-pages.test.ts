import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, httpSource, type Row } from '../../src/index.js';
import { reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';

describe('streaming an HTTP source page by page', () => {
  let server: TestHttpServer;
  let requested: number[] = [];

  beforeAll(async () => {
    server = await startHttpServer({
      'GET /items': reply.dynamic((req) => {
        const after = Number(new URL(req.url, 'http://x').searchParams.get('after') ?? 0);
        requested.push(after);
        const items = Array.from({ length: 10 }, (_, i) => ({ n: after + i }));
        return { items, next: after + 10 < 1000 ? String(after + 10) : null };
      }),
    });
  });
  afterAll(() => server.close());

  it('asks for the next page only when the rows are wanted, and stops at a satisfied limit', async () => {
    requested = [];
    const executor = createExecutor({ sources: { api: httpSource({ baseUrl: server.url, maxPages: 1000 }) }, cache: false });
    const run = executor.run({
      fragments: [{ id: 'items', source: 'api', query: { path: '/items', rows: '/items', paginate: { type: 'cursor', cursor: '/next', param: 'after' } } }],
      merge: { op: 'limit', n: 25, input: 'items' },
    });
    const rows: Row[] = [];
    for await (const batch of run.rows()) rows.push(...batch);
    expect(rows.map((r) => r.n)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect((await run.result).status).toBe('ok');
    // Three pages hold the 25 rows; the pager never ran ahead to the hundredth.
    expect(requested).toEqual([0, 10, 20]);
    await executor.close();
  });
});
