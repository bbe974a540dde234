import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, createWorker, from, httpSource, memorySource, plan, type HttpSourceOptions, type RemoteWorker } from '../../src/index.js';
import { reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';
import { describeRedis, dropQueues, REDIS_URL } from '../support/redis.js';

/**
 * An httpSource on BullMQ workers is bounded as in-process: `maxRequests` per fragment per
 * run (the job carries what the fragment had sent, the worker reports what its call sent),
 * and its byte bound on response bodies as the worker read them (the coordinator estimates
 * no row again).
 */
describeRedis('httpSource on a BullMQ worker', () => {
  const queue = `tributary-test-${randomUUID()}`;
  // 2,000 small rows per request: about 43 KB of JSON, about 226 KB of estimated rows.
  const ROWS = Array.from({ length: 2000 }, (_, i) => ({ id: i, v: 'abc' }));
  const options: Partial<HttpSourceOptions> = { maxRequests: 12, maxConcurrency: 1 };
  let server: TestHttpServer;
  let worker: RemoteWorker;

  beforeAll(async () => {
    let flaky = true;
    let stall = true;
    server = await startHttpServer({
      'GET /items/:id': reply.dynamic((req) => [{ id: Number(req.params.id) }]),
      'GET /rows': reply.dynamic(() => ROWS),
      // Id 7 never answers the first time (the attempt times out), its row after.
      'GET /stall/:id': (req, res) => (req.params.id === '7' && stall ? ((stall = false), undefined) : reply.json([{ id: Number(req.params.id) }])(req, res)),
      // Id 5 answers 503 (retryable) the first time, its row after.
      'GET /flaky/:id': (req, res) => (req.params.id === '5' && flaky ? ((flaky = false), reply.status(503)(req, res)) : reply.json([{ id: Number(req.params.id) }])(req, res)),
    });
    worker = createWorker({ sources: { api: httpSource({ baseUrl: server.url, ...options }) }, connection: REDIS_URL, queue, concurrency: 2 });
    await worker.ready();
  });

  afterAll(async () => {
    await worker?.close();
    await dropQueues(queue);
    await server?.close();
  });

  const executorWith = (ids: number, rowLimits: { maxBytes?: number } = {}) =>
    createExecutor({
      sources: { api: httpSource({ baseUrl: server.url, ...options }), mem: memorySource({ tables: { ids: Array.from({ length: ids }, (_, i) => ({ id: i + 1 })) } }) },
      remote: { connection: REDIS_URL, queue, sources: ['api'] },
      cache: false,
      telemetry: false,
      retry: { attempts: 1 },
      rowLimits,
    });

  it("caps the requests of a fragment's batches together at maxRequests, not each job's", async () => {
    const executor = executorWith(20);
    try {
      const before = server.hits('GET /items/:id');
      // Four batches of five ids: each job fits under 12 alone, the fragment's 20 requests do not.
      const p = plan('remote-cap')
        .fragment('ids', 'mem', { table: 'ids' })
        .fragment('f', 'api', { path: '/items/{id}', pathParams: { id: from('ids', 'id') } }, { dependsOn: ['ids'], batch: { param: 0, size: 5 } })
        .merge('f')
        .build();
      const result = await executor.execute(p);
      expect(result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'f', message: expect.stringContaining('more than maxRequests=12 for the fragment') })]);
      expect(result.errors[0]!.issues).toEqual([expect.objectContaining({ path: 'fragments.f' })]);
      // Two batches (10 requests) ran; the third, whose list did not fit, sent nothing.
      expect(server.hits('GET /items/:id') - before).toBe(10);
    } finally {
      await executor.close();
    }
  });

  it('counts the requests a failed job sent: its retry and the next batches count from there', async () => {
    const executor = createExecutor({
      sources: { api: httpSource({ baseUrl: server.url, ...options }), mem: memorySource({ tables: { ids: Array.from({ length: 10 }, (_, i) => ({ id: i + 1 })) } }) },
      remote: { connection: REDIS_URL, queue, sources: ['api'] },
      cache: false,
      telemetry: false,
      retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
    });
    try {
      const before = server.hits('GET /flaky/:id');
      // Batch 1 (ids 1-5) fails on id 5 after 5 requests, and its retry sends 5 more: 10 of 12
      // sent, so batch 2 (5 more) does not fit.
      const p = plan('remote-failed')
        .fragment('ids', 'mem', { table: 'ids' })
        .fragment('f', 'api', { path: '/flaky/{id}', pathParams: { id: from('ids', 'id') } }, { dependsOn: ['ids'], batch: { param: 0, size: 5 } })
        .merge('f')
        .build();
      const result = await executor.execute(p);
      expect(result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'f', message: expect.stringContaining('besides the 10 its other calls') })]);
      expect(server.hits('GET /flaky/:id') - before).toBe(10);
    } finally {
      await executor.close();
    }
  });

  it('counts the requests of a job given up on (its attempt timed out) once its worker has ended it', async () => {
    const executor = createExecutor({
      sources: { api: httpSource({ baseUrl: server.url, ...options }), mem: memorySource({ tables: { ids: Array.from({ length: 7 }, (_, i) => ({ id: i + 1 })) } }) },
      remote: { connection: REDIS_URL, queue, sources: ['api'] },
      cache: false,
      telemetry: false,
      timeoutMs: 500,
      // Long enough for the worker to end the abandoned job and report it before the retry.
      retry: { attempts: 2, initialDelayMs: 1000, maxDelayMs: 1000, jitter: 'none' },
    });
    try {
      // Try 1 sends 7 requests and times out on the last; they count, so try 2's 7 more do not fit in 12.
      const p = plan('remote-abandoned')
        .fragment('ids', 'mem', { table: 'ids' })
        .fragment('f', 'api', { path: '/stall/{id}', pathParams: { id: from('ids', 'id') } }, { dependsOn: ['ids'] })
        .merge('f')
        .build();
      const result = await executor.execute(p);
      expect(result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'f', message: expect.stringContaining('besides the 7 its other calls') })]);
    } finally {
      await executor.close();
    }
  });

  it("bounds a call's response bodies as the worker read them, not the coordinator's estimate of its rows", async () => {
    const fits = executorWith(2, { maxBytes: 100_000 });
    const over = executorWith(2, { maxBytes: 60_000 });
    try {
      const p = plan('remote-bytes')
        .fragment('ids', 'mem', { table: 'ids' })
        .fragment('f', 'api', { path: '/rows', searchParams: { k: from('ids', 'id') } }, { dependsOn: ['ids'] })
        .merge('f')
        .build();
      // Two bodies, 86 KB together (452 KB of estimated rows): within 100,000 bytes, past 60,000.
      const ok = await fits.execute(p);
      expect(ok.errors).toEqual([]);
      expect(ok.rows).toHaveLength(4000);
      const failed = await over.execute(p);
      expect(failed.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'f', message: expect.stringContaining('more than maxBytes=60000 bytes') })]);
    } finally {
      await fits.close();
      await over.close();
    }
  });
});
