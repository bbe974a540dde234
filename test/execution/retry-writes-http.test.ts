import { describe, expect, it } from 'vitest';
import { createExecutor, createVirtualClock, httpSource, type ExecutionEvent, type Plan } from '../../src/index.js';
import { closedPort, reply, startHttpServer, within, type RouteHandler, type TestHttpServer } from '../support/http-server.js';
import { eventually } from '../support/servers.js';

/**
 * A call its source says may write (an HTTP POST) is retried only after a failure that shows
 * the server never got it (could not connect, 408, 429): a reset, a 502/503/504 or a timeout
 * can come after the server did the work, and a retry would do it twice. A plan that knows its
 * calls are safe to run twice says `retry: { idempotent: true }` (or `hedge: { idempotent: true }`).
 */
const RETRY = { attempts: 3, initialDelayMs: 0, jitter: 'none' } as const;
const post = (extra: Partial<Plan['fragments'][number]> = {}): Plan => ({ fragments: [{ id: 'f', source: 'api', query: { method: 'POST', path: '/orders', body: { sku: 'x' } }, ...extra }] });

/** Answers `first` to the first request, then rows. */
const firstThen = (first: RouteHandler): RouteHandler => {
  let n = 0;
  return (req, res) => (n++ === 0 ? first(req, res) : reply.json([{ id: 1 }])(req, res));
};
/** Reads the request, then drops the connection without a word. */
const reset: RouteHandler = (req, res) => void res.socket?.destroy();

async function withServer(route: RouteHandler, body: (server: TestHttpServer) => Promise<void>): Promise<void> {
  const server = await startHttpServer({ 'POST /orders': route, 'GET /orders': route });
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

describe('retries of a POST (a call that may write)', () => {
  for (const [what, route] of [
    ['a connection reset', reset],
    ['502 Bad Gateway', reply.status(502)],
    ['503 Service Unavailable', reply.status(503)],
    ['504 Gateway Timeout', reply.status(504)],
  ] as const) {
    it(`sends it once when answered by ${what}, saying why it was not retried`, async () => {
      await withServer(firstThen(route), async (server) => {
        const executor = createExecutor({ sources: { api: httpSource({ baseUrl: server.url }) }, cache: false, retry: RETRY });
        try {
          const result = await executor.execute(post());
          expect(result.status).toBe('failed');
          expect(server.hits('POST /orders')).toBe(1);
          expect(result.errors[0]).toMatchObject({ retryable: false, attempt: 1 });
          expect(result.errors[0]!.message).toContain('not retried: the call may have run (POST is not a read)');
        } finally {
          await executor.close();
        }
      });
    });
  }

  it('sends it once when its attempt times out on the virtual clock', async () => {
    await withServer(reply.stall(), async (server) => {
      const clock = createVirtualClock();
      const executor = createExecutor({ sources: { api: httpSource({ baseUrl: server.url }) }, cache: false, clock, timeoutMs: 1000, retry: { attempts: 3, initialDelayMs: 50, jitter: 'none' } });
      try {
        const pending = executor.execute(post());
        expect(await eventually(() => Promise.resolve(server.hits('POST /orders') === 1))).toBe(true);
        await clock.advanceAsync(1000);
        // A retry would wait 50 ms of virtual time that never passes: the run would not settle.
        const result = await within(5000, pending);
        expect(result!.errors[0]).toMatchObject({ code: 'TIMEOUT', retryable: false });
        expect(result!.errors[0]!.message).toContain('not retried: the call may have run (POST is not a read)');
        expect(server.hits('POST /orders')).toBe(1);
      } finally {
        await executor.close();
      }
    });
  });

  it('retries it after a 502 when the fragment says retry: { idempotent: true }, or hedge: { idempotent: true }', async () => {
    for (const extra of [{ retry: { idempotent: true } }, { hedge: { afterMs: 60_000, idempotent: true } }]) {
      await withServer(firstThen(reply.status(502)), async (server) => {
        const executor = createExecutor({ sources: { api: httpSource({ baseUrl: server.url }) }, cache: false, retry: RETRY });
        try {
          const result = await executor.execute(post(extra));
          expect(result.rows).toEqual([{ id: 1 }]);
          expect(server.hits('POST /orders')).toBe(2);
        } finally {
          await executor.close();
        }
      });
    }
  });

  it('retries it after 429 Too Many Requests and 408 Request Timeout: the server did not act on it', async () => {
    for (const status of [429, 408]) {
      await withServer(firstThen(reply.status(status)), async (server) => {
        const executor = createExecutor({ sources: { api: httpSource({ baseUrl: server.url }) }, cache: false, retry: RETRY });
        try {
          expect((await executor.execute(post())).rows).toEqual([{ id: 1 }]);
          expect(server.hits('POST /orders')).toBe(2);
        } finally {
          await executor.close();
        }
      });
    }
  });

  it('retries it when nothing listens (ECONNREFUSED): it was never sent', async () => {
    const port = await closedPort();
    const executor = createExecutor({ sources: { api: httpSource({ baseUrl: `http://127.0.0.1:${port}` }) }, cache: false, retry: RETRY });
    try {
      const run = executor.run(post());
      const events: ExecutionEvent[] = [];
      run.events$.subscribe((e) => events.push(e));
      const result = await run.result;
      expect(result.errors[0]).toMatchObject({ code: 'SOURCE_UNAVAILABLE', driverCode: 'ECONNREFUSED' });
      expect(result.errors[0]!.message).not.toContain('not retried');
      expect(events.filter((e) => e.type === 'fragment.started')).toHaveLength(3);
    } finally {
      await executor.close();
    }
  });

  it('retries it when its lane shed it before sending (maxQueued: 0)', async () => {
    await withServer(reply.delay(30, reply.json([{ id: 1 }])), async (server) => {
      const executor = createExecutor({ sources: { api: httpSource({ baseUrl: server.url, maxConcurrency: 1, maxQueued: 0 }) }, cache: false, retry: { attempts: 5, initialDelayMs: 100, jitter: 'none' } });
      try {
        const plan: Plan = { fragments: ['a', 'b'].map((id) => ({ id, source: 'api', query: { method: 'POST', path: '/orders' } })), merge: { op: 'union', inputs: ['a', 'b'] } };
        const run = executor.run(plan);
        const events: ExecutionEvent[] = [];
        run.events$.subscribe((e) => events.push(e));
        const result = await run.result;
        expect(result.status).toBe('ok');
        expect(result.rows).toEqual([{ id: 1 }, { id: 1 }]);
        expect(events.some((e) => e.type === 'fragment.retrying')).toBe(true);
        expect(server.hits('POST /orders')).toBe(2);
      } finally {
        await executor.close();
      }
    });
  });

  it('still retries a GET after a 502 (a read may run twice)', async () => {
    await withServer(firstThen(reply.status(502)), async (server) => {
      const executor = createExecutor({ sources: { api: httpSource({ baseUrl: server.url }) }, cache: false, retry: RETRY });
      try {
        expect((await executor.execute({ fragments: [{ id: 'f', source: 'api', query: { path: '/orders' } }] })).rows).toEqual([{ id: 1 }]);
        expect(server.hits('GET /orders')).toBe(2);
      } finally {
        await executor.close();
      }
    });
  });
});
