import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpSource, type HttpQuery } from '../../src/sources/http/connector.js';
import type { ExecuteContext } from '../../src/sources/source.js';
import type { Row } from '../../src/data/row.js';
import { failure, reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';

/** What httpSource leaves attached to the signals it is given, and what Node says about them. */

let server: TestHttpServer;

beforeAll(async () => {
  server = await startHttpServer({
    'GET /items/:id': reply.delay(5, reply.dynamic((req) => [{ id: req.params.id }])),
  });
});
afterAll(() => server.close());

function ctx(signal: AbortSignal): ExecuteContext {
  return { params: [], signal, fragmentId: 'f1' };
}

describe('httpSource and the signals it listens on', () => {
  it('leaves no abort listener behind when a call fails while its requests are built', async () => {
    const source = httpSource({ baseUrl: server.url });
    const caller = new AbortController();
    const refused: HttpQuery[] = [
      { path: '/items/{id}', pathParams: { id: null } }, // a null path param
      { path: '/items/{id}', pathParams: { id: '..' } }, // a value that climbs the path
      { path: '/items', searchParams: { a: [1, 2], b: [3] } }, // two lists under list: 'each'
    ];
    for (const query of refused) {
      expect((await failure(source.execute(query, ctx(caller.signal)) as Promise<Row[]>)).code).toBe('FRAGMENT_FAILED');
    }
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('fans out to more than ten requests at once without a MaxListenersExceededWarning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const source = httpSource({ baseUrl: server.url, maxConcurrency: 16 });
      const ids = Array.from({ length: 32 }, (_, i) => i);
      const rows = await (source.execute({ path: '/items/{id}', pathParams: { id: ids } }, ctx(new AbortController().signal)) as Promise<Row[]>);
      expect(rows.map((row) => row.id)).toEqual(ids.map(String));
      // process.emitWarning emits on a later tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });
});
