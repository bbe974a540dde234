import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createExecutor, createWorker, from, httpSource, memorySource, plan, type RemoteWorker } from '../../src/index.js';
import { collectEvents, ofType } from '../support/engine.js';
import { reply, startHttpServer, type RouteHandler, type TestHttpServer } from '../support/http-server.js';
import { describeRedis, dropQueues, inspectClient, REDIS_URL } from '../support/redis.js';
import { eventually } from '../support/servers.js';

/**
 * `maxRequests` bounds a fragment whose batches run on several BullMQ workers at once: the
 * workers reserve its requests from one counter in Redis (reserve-if-fits), so jobs in flight
 * together cannot pass the cap between them, and every job enforces the coordinator's cap, or
 * its worker's own `httpSource`'s where that is smaller.
 */
type Source = 'open' | 'tight' | 'free';

describeRedis('httpSource maxRequests over batches running on two workers at once', () => {
  const queue = `tributary-test-${randomUUID()}`;
  const IDS = 20;
  let server: TestHttpServer;
  const workers: RemoteWorker[] = [];
  // The first request waits for a second to arrive before either is answered: the test goes
  // on only if two calls of the fragment (two batches, each sending one request at a time)
  // are on the server at once. A fallback ends the wait so a test that cannot overlap fails
  // on `overlapped` rather than hanging.
  let overlapped = false;
  let first: (() => void) | undefined;
  let fallback: ReturnType<typeof setTimeout> | undefined;

  beforeAll(async () => {
    const gated =
      (handler: RouteHandler): RouteHandler =>
      (req, res) => {
        const answer = (): void => void handler(req, res);
        if (overlapped || fallback === undefined) return answer();
        if (first === undefined) {
          first = answer;
          return;
        }
        overlapped = true;
        clearTimeout(fallback);
        first();
        answer();
      };
    server = await startHttpServer({
      'GET /items/:id': gated(reply.dynamic((req) => [{ id: Number(req.params.id) }])),
      // Five pages of one row for each k, then an empty page: six requests.
      'GET /pages': gated(reply.dynamic((req) => (Number(req.url.searchParams.get('page')) <= 5 ? [{ k: req.url.searchParams.get('k') }] : []))),
    });
    // Two workers, one job each at a time, one request per call at a time. `open` keeps the
    // default cap (1000), `tight` sets 4: both differ from the coordinators' below.
    for (const id of ['w1', 'w2']) {
      const sources = {
        open: httpSource({ baseUrl: server.url, maxConcurrency: 1 }),
        tight: httpSource({ baseUrl: server.url, maxConcurrency: 1, maxRequests: 4 }),
        free: httpSource({ baseUrl: server.url, maxConcurrency: 1, maxRequests: Infinity }),
      };
      workers.push(createWorker({ id: `${queue}-${id}`, sources, connection: REDIS_URL, queue, concurrency: 1 }));
    }
    await Promise.all(workers.map((w) => w.ready()));
  });

  beforeEach(() => {
    overlapped = false;
    first = undefined;
    fallback = setTimeout(() => {
      const waiting = first;
      fallback = undefined;
      waiting?.();
    }, 5000);
  });

  afterAll(async () => {
    if (fallback) clearTimeout(fallback);
    await Promise.all(workers.map((w) => w.close()));
    await dropQueues(queue);
    await server?.close();
  });

  /** The coordinator: `source` remote, with its own cap; its lane lets all four batches go at once. */
  const executorFor = (source: Source, maxRequests: number) =>
    createExecutor({
      sources: {
        [source]: httpSource({ baseUrl: server.url, maxRequests, maxConcurrency: 4 }),
        mem: memorySource({ tables: { ids: Array.from({ length: IDS }, (_, i) => ({ id: i + 1 })) } }),
      },
      remote: { connection: REDIS_URL, queue, sources: [source] },
      cache: false,
      telemetry: false,
      retry: { attempts: 1 },
    });

  // Four batches of five ids (or `size`), one request per id (list: 'each'): 20 requests in all.
  const planOn = (source: Source, size = 5) =>
    plan(`shared-cap-${source}`)
      .fragment('ids', 'mem', { table: 'ids' })
      .fragment('f', source, { path: '/items/{id}', pathParams: { id: from('ids', 'id') }, list: 'each' }, { dependsOn: ['ids'], batch: { param: 0, size } })
      .merge('f')
      .build();

  /** The fragments' request counters this queue left in Redis. */
  const tallyKeys = async (): Promise<string[]> => {
    const client = inspectClient();
    try {
      return await client.keys(`tributary:${queue}:requests:*`);
    } finally {
      client.disconnect();
    }
  };

  it('sends at most maxRequests over batches in flight together on two workers, and fails LIMIT_EXCEEDED at the fragment', async () => {
    const executor = executorFor('open', 12);
    try {
      const before = server.hits('GET /items/:id');
      const run = executor.run(planOn('open'));
      const events = collectEvents(run);
      const result = await run.result;
      expect(overlapped).toBe(true);
      expect(new Set(ofType(events, 'fragment.remote').map((e) => e.worker)).size).toBe(2);
      expect(result.status).toBe('failed');
      expect(result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'f', message: expect.stringContaining('more than maxRequests=12 for the fragment') })]);
      expect(result.errors[0]!.issues).toEqual([expect.objectContaining({ path: 'fragments.f' })]);
      // The batches given up on end on their workers after the run: the count is read then.
      expect(await eventually(async () => (await tallyKeys()).length === 0, 10_000)).toBe(true);
      const sent = server.hits('GET /items/:id') - before;
      expect(sent).toBeGreaterThan(0);
      expect(sent).toBeLessThanOrEqual(12);
    } finally {
      await executor.close();
    }
  });

  it('counts the pages of calls in flight together on two workers against the same cap', async () => {
    const executor = executorFor('open', 8);
    try {
      const before = server.hits('GET /pages');
      // Two batches of one k, each paging six times: 12 requests, more than 8.
      const p = plan('shared-cap-pages')
        .fragment('ids', 'mem', { table: 'ids', where: { le: ['id', 2] } })
        .fragment('f', 'open', { path: '/pages', searchParams: { k: from('ids', 'id') }, paginate: { type: 'page', param: 'page' } }, { dependsOn: ['ids'], batch: { param: 0, size: 1 } })
        .merge('f')
        .build();
      const run = executor.run(p);
      const events = collectEvents(run);
      const result = await run.result;
      expect(overlapped).toBe(true);
      expect(new Set(ofType(events, 'fragment.remote').map((e) => e.worker)).size).toBe(2);
      expect(result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'f', message: expect.stringContaining('more than maxRequests=8 requests for the fragment') })]);
      expect(await eventually(async () => (await tallyKeys()).length === 0, 10_000)).toBe(true);
      expect(server.hits('GET /pages') - before).toBeLessThanOrEqual(8);
    } finally {
      await executor.close();
    }
  });

  it("passes with the exact request count when the fragment fits the coordinator's cap and the workers' own", async () => {
    const executor = executorFor('open', IDS);
    try {
      const before = server.hits('GET /items/:id');
      const run = executor.run(planOn('open'));
      const events = collectEvents(run);
      const result = await run.result;
      expect(overlapped).toBe(true);
      expect(new Set(ofType(events, 'fragment.remote').map((e) => e.worker)).size).toBe(2);
      expect(result.errors).toEqual([]);
      expect(result.status).toBe('ok');
      // Oracle: the ids themselves, one row per id; the server saw one request per id.
      expect(result.rows.map((r) => r.id).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: IDS }, (_, i) => i + 1));
      expect(server.hits('GET /items/:id') - before).toBe(IDS);
      expect(await eventually(async () => (await tallyKeys()).length === 0, 10_000)).toBe(true);
    } finally {
      await executor.close();
    }
  });

  // Batches of 3 (each fits the workers' 4 on its own), two in flight at once: 6 together.
  it.each([
    { cap: IDS, when: "it is smaller than the coordinator's" },
    { cap: Infinity, when: 'the coordinator lifts its own' },
  ])("holds the fragment to a worker's own cap, over its jobs on both workers, where $when", async ({ cap }) => {
    const executor = executorFor('tight', cap);
    try {
      const before = server.hits('GET /items/:id');
      const result = await executor.run(planOn('tight', 3)).result;
      expect(result.status).toBe('failed');
      expect(result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'f', message: expect.stringContaining('maxRequests=4 for the fragment') })]);
      expect(server.hits('GET /items/:id') - before).toBeLessThanOrEqual(4);
      // The count is deleted with the fragment's last job (under a lifted cap, a worker's made it).
      expect(await eventually(async () => (await tallyKeys()).length === 0, 10_000)).toBe(true);
    } finally {
      await executor.close();
    }
  });

  it('makes no Redis command for the count when the cap is lifted on both sides', async () => {
    const executor = executorFor('free', Infinity);
    const monitor = await inspectClient().monitor();
    const touched: string[] = [];
    // Redis shows every command in the order it ran them: the marker comes after the run's.
    const marker = `tributary:${queue}:marker`;
    let marked: () => void = () => undefined;
    const seenMarker = new Promise<void>((resolve) => (marked = resolve));
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.some((a) => a.includes(`tributary:${queue}:requests:`))) touched.push(args.join(' '));
      if (args.includes(marker)) marked();
    });
    const client = inspectClient();
    try {
      const before = server.hits('GET /items/:id');
      const result = await executor.run(planOn('free')).result;
      expect(result.errors).toEqual([]);
      expect(server.hits('GET /items/:id') - before).toBe(IDS);
      await executor.close();
      await client.exists(marker);
      await seenMarker;
      expect(touched).toEqual([]);
    } finally {
      client.disconnect();
      monitor.disconnect();
      await executor.close();
    }
  });
});
