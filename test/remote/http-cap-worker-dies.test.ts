import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { createExecutor, createWorker, from, httpSource, memorySource, plan, type RemoteWorker } from '../../src/index.js';
import { collectEvents, ofType } from '../support/engine.js';
import { reply, startHttpServer, type RecordedRequest, type TestHttpServer } from '../support/http-server.js';
import { describeRedis, dropQueues, inspectClient, REDIS_URL } from '../support/redis.js';
import { eventually } from '../support/servers.js';
import { spawnWorker, stopWorker, type WorkerProcess } from './fixtures/spawn.js';

const httpWorker = fileURLToPath(new URL('./fixtures/http-worker.ts', import.meta.url));

/**
 * A worker SIGKILLed mid-list (`list: 'each'`, its whole list reserved up front, two of its
 * requests sent): BullMQ fails its job as stalled and the coordinator ends the job in its
 * fragment's count in Redis — what it reserved and never sent goes back, what it sent stays
 * counted and joins the fragment's tally — so the retry's job is held to what is really left.
 */
describeRedis("httpSource maxRequests when a remote worker dies mid-list", () => {
  let server: TestHttpServer;
  const queues: string[] = [];
  let victim: WorkerProcess | undefined;
  let survivor: RemoteWorker | undefined;
  // Requests the server holds, answered when their release comes (never, for the victim's).
  const held = new Map<string, () => void>();
  let hold: (req: RecordedRequest) => 'never' | 'gate' | undefined = () => undefined;

  beforeAll(async () => {
    const item = reply.dynamic((req) => [{ id: Number(req.params.id) }]);
    server = await startHttpServer({
      'GET /items/:id': (req, res) => {
        const how = hold(req);
        if (how === 'never') return;
        if (how === 'gate') held.set(req.params.id!, () => (held.delete(req.params.id!), void item(req, res)));
        else void item(req, res);
      },
    });
  });

  beforeEach(() => {
    first = server.requests.length;
  });

  afterEach(async () => {
    hold = () => undefined;
    for (const release of [...held.values()]) release();
    await survivor?.close();
    await stopWorker(victim);
    survivor = undefined;
    victim = undefined;
  });

  afterAll(async () => {
    await dropQueues(...queues);
    await server?.close();
  });

  // Where the server's requests of the test under way start.
  let first = 0;
  /** Requests the server saw for `/items/<id>` in this test. */
  const seen = (id: number): number => server.requests.slice(first).filter((r) => r.params.id === String(id)).length;
  const until = async (what: string, check: () => boolean): Promise<void> => {
    if (!(await eventually(async () => check(), 20_000))) throw new Error(`timed out waiting for ${what}`);
  };

  /**
   * Runs `ids` as one list per batch of `batch` on a coordinator capped at `maxRequests`: the
   * victim (one job at a time) takes the first batch, and is killed once its request for id 2
   * is on the server (never answered) and `ready()` holds; the survivor then runs the rest.
   */
  async function runWithVictim(ids: number, batch: number, maxRequests: number, ready: () => boolean) {
    const queue = `tributary-test-${randomUUID()}`;
    queues.push(queue);
    victim = await spawnWorker({ QUEUE: queue, WORKER_ID: 'victim', LOCK_MS: '1000', BASE_URL: server.url, TRIBUTARY_REDIS_URL: REDIS_URL }, httpWorker);
    const executor = createExecutor({
      sources: {
        api: httpSource({ baseUrl: server.url, maxRequests, maxConcurrency: 4 }),
        mem: memorySource({ tables: { ids: Array.from({ length: ids }, (_, i) => ({ id: i + 1 })) } }),
      },
      remote: { connection: REDIS_URL, queue, sources: ['api'] },
      cache: false,
      telemetry: false,
      retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
    });
    try {
      const p = plan('dead-worker-cap')
        .fragment('ids', 'mem', { table: 'ids' })
        .fragment('f', 'api', { path: '/items/{id}', pathParams: { id: from('ids', 'id') }, list: 'each' }, { dependsOn: ['ids'], batch: { param: 0, size: batch } })
        .merge('f')
        .build();
      const run = executor.run(p);
      const events = collectEvents(run);
      await until("the victim's request for id 2", () => seen(2) === 1);
      survivor = createWorker({ id: 'survivor', sources: { api: httpSource({ baseUrl: server.url, maxConcurrency: 1 }) }, connection: REDIS_URL, queue, concurrency: 2, lockDurationMs: 1000, stalledIntervalMs: 250 });
      await survivor.ready();
      await until('the survivor', ready);
      await stopWorker(victim, 'SIGKILL');
      const result = await run.result;
      const client = inspectClient();
      try {
        // Every job of the fragment has ended: its count is gone.
        expect(await eventually(async () => (await client.keys(`tributary:${queue}:requests:*`)).length === 0, 10_000)).toBe(true);
      } finally {
        client.disconnect();
      }
      return { result, events };
    } finally {
      await executor.close();
    }
  }

  it("gives the dead job's unsent reservation back: the retry fits beside the fragment's other batch", { timeout: 90_000 }, async () => {
    // Batches [1..6] (the victim's: 6 reserved, 1 and 2 sent) and [7, 8] (the survivor's, held
    // on the server until the retry's last request comes). 2 + 6 + 2 = 10 requests: the cap.
    hold = (req) => (req.params.id === '2' && seen(2) === 1 ? 'never' : req.params.id === '7' && seen(7) === 1 ? 'gate' : undefined);
    const released = setInterval(() => {
      if (seen(6) > 0) held.get('7')?.();
    }, 20);
    try {
      const { result, events } = await runWithVictim(8, 6, 10, () => held.has('7'));
      expect(result.errors).toEqual([]);
      expect(result.status).toBe('ok');
      // Oracle: the ids themselves, once each.
      expect(result.rows.map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      const failed = ofType(events, 'fragment.attempt.failed');
      expect(failed).toEqual([expect.objectContaining({ batch: { index: 0, count: 2 }, error: expect.objectContaining({ code: 'SOURCE_UNAVAILABLE', message: expect.stringMatching(/victim stopped answering/) }) })]);
      expect(server.requests.length - first).toBe(10);
    } finally {
      clearInterval(released);
    }
  });

  it('counts what the dead job sent: its retry is held to what is left of the cap', { timeout: 90_000 }, async () => {
    // One batch of 6: the victim sent 2 of them, so its retry's 6 do not fit under 7.
    hold = (req) => (req.params.id === '2' && seen(2) === 1 ? 'never' : undefined);
    const { result } = await runWithVictim(6, 6, 7, () => true);
    expect(result.status).toBe('failed');
    expect(result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'f', message: expect.stringContaining('needs 6 requests') })]);
    expect(result.errors[0]!.message).toContain('besides the 2 its other calls');
    // Only the victim's two requests were sent: never more than the cap.
    expect(server.requests.length - first).toBe(2);
  });
});
