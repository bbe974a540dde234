import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { deserialize } from 'node:v8';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { createExecutor, createRemoteLane, createWorker, postgresSource, type RemoteWorker } from '../../src/index.js';
import { describeRedis, dropQueues, inspectClient, REDIS_URL } from '../support/redis.js';
import { describeWithServer, eventually, requireServer } from '../support/servers.js';
import { fixtureSources } from './fixtures/sources.js';
import { spawnWorker, stopWorker, type WorkerProcess } from './fixtures/spawn.js';

/**
 * What a remote call leaves in Redis once it has failed: BullMQ keeps a failed job (for an
 * hour, for dashboards), and its data held the call's payload — the bound values and the
 * principal's claims, V8-serialized. Every key of the queue is read back here, each string
 * also decoded as a payload would be, and none may hold a value or a claim.
 */
const server = await requireServer('postgres');

const PARAM = 'SSN-987-65-4321';
const CLAIM = 'claim-4d1f9a2b';

/** Every key of the queue's (BullMQ's and tributary's) with its contents, base64 payloads decoded. */
async function dump(client: Redis, queue: string, keep: (key: string) => boolean = () => true): Promise<string> {
  const out: string[] = [];
  const decoded = (text: string): string => {
    try {
      return inspect(deserialize(Buffer.from(text, 'base64')), { depth: 10 });
    } catch {
      return '';
    }
  };
  const strings = (values: string[]): void => {
    for (const v of values) {
      out.push(v);
      for (const payload of v.match(/[A-Za-z0-9+/=]{16,}/g) ?? []) out.push(decoded(payload));
    }
  };
  for (const key of [...(await client.keys(`bull:${queue}:*`)), ...(await client.keys(`tributary:${queue}:*`))].filter(keep)) {
    const type = await client.type(key);
    out.push(key);
    if (type === 'string') strings([(await client.get(key)) ?? '']);
    else if (type === 'hash') strings(Object.entries(await client.hgetall(key)).flat());
    else if (type === 'list') strings(await client.lrange(key, 0, -1));
    else if (type === 'zset') strings(await client.zrange(key, 0, -1));
    else if (type === 'set') strings(await client.smembers(key));
    else if (type === 'stream') strings((await client.xrange(key, '-', '+')).flatMap(([, fields]) => fields));
  }
  return out.join('\n');
}

describeRedis("a failed remote job's data", () => {
  const client = inspectClient();
  const queues: string[] = [];
  afterAll(async () => {
    await dropQueues(...queues);
    client.disconnect();
  });

  describeWithServer(server, 'with a worker on PostgreSQL', () => {
    it('holds neither the bound values nor the claims once the call failed (a completed job is gone)', { timeout: 30_000 }, async () => {
      const queue = `tributary-test-${randomUUID()}`;
      queues.push(queue);
      let worker: RemoteWorker | undefined;
      const executor = createExecutor({ sources: { pg: postgresSource({ url: server.url }) }, remote: { connection: REDIS_URL, queue }, retry: { attempts: 1 }, cache: false, telemetry: false });
      try {
        worker = createWorker({ sources: { pg: postgresSource({ url: server.url }) }, connection: REDIS_URL, queue, id: 'scrub' });
        await worker.ready();
        const principal = { id: 'ann', ssn: CLAIM };
        const failed = await executor.execute({ id: 'scrub', fragments: [{ id: 'f', source: 'pg', query: { sql: 'SELECT $1::int AS x', params: [{ $param: 'ssn' }] } }] }, { params: { ssn: PARAM }, principal });
        expect(failed.errors[0]).toMatchObject({ driverCode: '22P02' });
        const ok = await executor.execute({ id: 'ok', fragments: [{ id: 'g', source: 'pg', query: { sql: 'SELECT $1::text AS x', params: [PARAM] } }] }, { principal });
        expect(ok.rows).toEqual([{ x: PARAM }]);

        const q = new Queue(queue, { connection: { url: REDIS_URL } });
        try {
          const [job, ...others] = await q.getFailed();
          expect(others).toEqual([]);
          // Dashboards still tell which fragment failed, and why (masked).
          expect(job!.data).toEqual({ source: 'pg', fragmentId: 'f' });
          expect(job!.failedReason).toContain('"driverCode":"22P02"');
          expect(await q.getCompletedCount()).toBe(0);
        } finally {
          await q.close();
        }
        const text = await dump(client, queue);
        // The dump does decode a payload: the failed job's name and source are in it.
        expect(text).toContain('22P02');
        for (const secret of [PARAM, CLAIM]) expect({ secret, leaked: text.includes(secret) }).toEqual({ secret, leaked: false });
      } finally {
        await executor.close();
        await worker?.close();
      }
    });
  });

  it('of a job failed as stalled (its worker killed) holds no claim either; the reaper’s copy of the principal expires within seconds', { timeout: 60_000 }, async () => {
    const queue = `tributary-test-${randomUUID()}`;
    queues.push(queue);
    let dies: WorkerProcess | undefined;
    let lives: RemoteWorker | undefined;
    const lane = createRemoteLane({ connection: REDIS_URL, queue });
    try {
      dies = await spawnWorker({ QUEUE: queue, WORKER_ID: 'dies', DELAY_MS: '60000', LOCK_MS: '1000', TRIBUTARY_REDIS_URL: REDIS_URL });
      const call = lane.call({ source: 'ref', fragmentId: 'f', payload: { query: { table: 'items', where: { eq: ['name', PARAM] } }, params: [PARAM], principal: { id: 'ann', ssn: CLAIM } } }, new AbortController().signal);
      call.catch(() => undefined);
      expect(await eventually(async () => (await client.llen(`bull:${queue}:active`)) === 1, 10_000)).toBe(true);
      const started = await dump(client, queue);
      // Before it fails the job holds its call (the worker needs it), encoded.
      expect(started).toContain(CLAIM);
      lives = createWorker({ sources: fixtureSources(), connection: REDIS_URL, queue, id: 'lives', lockDurationMs: 1000, stalledIntervalMs: 250 });
      await lives.ready();
      await stopWorker(dies, 'SIGKILL');
      await expect(call).rejects.toMatchObject({ code: 'SOURCE_UNAVAILABLE', message: expect.stringMatching(/stalled/) });
      const q = new Queue(queue, { connection: { url: REDIS_URL } });
      try {
        expect(await eventually(async () => (await q.getFailed()).every((j) => j.data.payload === undefined), 5000)).toBe(true);
        expect((await q.getFailed()).map((j) => j.data)).toEqual([{ source: 'ref', fragmentId: 'f' }]);
      } finally {
        await q.close();
      }
      // What is left of the call: only the principal, kept for the reaper under a key that expires within seconds.
      const stash = `tributary:${queue}:principal:`;
      const kept = await client.keys(`${stash}*`);
      expect(kept).toHaveLength(1);
      expect(await client.pttl(kept[0]!)).toSatisfy((ms: number) => ms > 0 && ms <= 10_000);
      const text = await dump(client, queue, (key) => !key.startsWith(stash));
      expect(text).toContain('stalled');
      for (const secret of [PARAM, CLAIM]) expect({ secret, leaked: text.includes(secret) }).toEqual({ secret, leaked: false });
    } finally {
      await lane.close();
      await lives?.close();
      await stopWorker(dies);
    }
  });
});
