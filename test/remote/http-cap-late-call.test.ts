import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, createWorker, httpSource, TributaryError, type RemoteWorker, type Row, type SourceExecutor } from '../../src/index.js';
import { reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';
import { describeRedis, dropQueues, inspectClient, REDIS_URL } from '../support/redis.js';

/**
 * A job ends when its source's call does; a call of the job still going after that (a source
 * that started one more, a sibling request its connector did not wait for) reserves after the
 * job gave back what it did not send. Its reservation is refused — the request is never sent —
 * rather than counted for nobody, or sent uncounted.
 */
describeRedis("httpSource maxRequests: a remote job's call that reserves after the job has ended", () => {
  const queue = `tributary-test-${randomUUID()}`;
  let server: TestHttpServer;
  let worker: RemoteWorker;
  let lateCall: Promise<unknown> | undefined;

  beforeAll(async () => {
    server = await startHttpServer({ 'GET /late': reply.json([{ id: 1 }]) });
    const inner = httpSource({ baseUrl: server.url, maxConcurrency: 1 });
    // Calls the API once more, with the job's context, a while after its call has returned.
    const late: SourceExecutor = {
      kind: inner.kind,
      querySchema: inner.querySchema,
      execute: (query, ctx) => {
        const rows = inner.execute(query, ctx) as Promise<Row[]>;
        lateCall = rows.then(() => new Promise((resolve) => setTimeout(resolve, 300))).then(() => inner.execute(query, ctx) as Promise<Row[]>).then(
          () => undefined,
          (error: unknown) => error,
        );
        return rows;
      },
      close: async () => {
        await inner.close?.();
      },
    };
    worker = createWorker({ id: `${queue}-w`, sources: { api: late }, connection: REDIS_URL, queue });
    await worker.ready();
  });

  afterAll(async () => {
    await worker?.close();
    await dropQueues(queue);
    await server?.close();
  });

  it('is refused: nothing is sent, and the fragment leaves no count in Redis', async () => {
    const executor = createExecutor({
      sources: { api: httpSource({ baseUrl: server.url, maxRequests: 10 }) },
      remote: { connection: REDIS_URL, queue, sources: ['api'] },
      cache: false,
      telemetry: false,
    });
    try {
      const result = await executor.execute({ fragments: [{ id: 'f', source: 'api', query: { path: '/late' } }] });
      expect(result.errors).toEqual([]);
      expect(result.rows).toEqual([{ id: 1 }]);
    } finally {
      await executor.close();
    }
    const error = await lateCall;
    // The job's one request, not the late call's.
    expect(server.hits('GET /late')).toBe(1);
    const client = inspectClient();
    try {
      expect(await client.keys(`tributary:${queue}:requests:*`)).toEqual([]);
    } finally {
      client.disconnect();
    }
    expect(error).toBeInstanceOf(TributaryError);
    expect(error).toMatchObject({ code: 'CANCELLED', message: expect.stringMatching(/job .* has ended/) });
  });
});
