import { randomUUID } from 'node:crypto';
import { serialize } from 'node:v8';
import { Queue, QueueEvents } from 'bullmq';
import { z } from 'zod';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, createWorker, memorySource, type RemoteWorker, type SourceExecutor } from '../../src/index.js';
import { describeRedis, REDIS_URL } from '../support/redis.js';

/**
 * A worker checks each job before its source sees it, as a coordinator checks a plan: a job
 * is data from Redis, and a malformed one (another version, a bug, a hand-made job) must fail
 * with a clear, non-retryable error naming what is wrong — never reach the source, and never
 * find a "source" on Object.prototype.
 */
describeRedis('a worker given malformed jobs', () => {
  const queue = `tributary-test-${randomUUID()}`;
  const calls: unknown[] = [];
  const source: SourceExecutor<{ table: string }> = {
    kind: 'strict',
    querySchema: z.strictObject({ table: z.string() }),
    execute: (query) => {
      calls.push(query);
      return Promise.resolve([{ a: 1 }]);
    },
  };
  let worker: RemoteWorker;
  let q: Queue;
  let events: QueueEvents;
  beforeAll(async () => {
    worker = createWorker({ sources: { ref: source }, connection: REDIS_URL, queue });
    await worker.ready();
    q = new Queue(queue, { connection: { url: REDIS_URL } });
    events = new QueueEvents(queue, { connection: { url: REDIS_URL } });
    await events.waitUntilReady();
  });
  afterAll(async () => {
    await worker.close();
    await events.close();
    await q.obliterate({ force: true });
    await q.close();
  });

  const encode = (payload: unknown): string => serialize(payload).toString('base64');
  async function failure(data: unknown): Promise<{ code: string; retryable: boolean; message: string }> {
    const job = await q.add('fragment', data as never, { attempts: 1 });
    const reason = await job.waitUntilFinished(events, 10_000).then(
      () => 'completed',
      (error: Error) => error.message,
    );
    return JSON.parse(reason) as { code: string; retryable: boolean; message: string };
  }

  it('names no source it lacks, even one Object.prototype has', async () => {
    for (const name of ['__proto__', 'toString', 'constructor', 'nope']) {
      expect(await failure({ source: name, fragmentId: 'f', payload: encode({ query: { table: 't' }, params: [] }) })).toMatchObject({ code: 'SOURCE_UNKNOWN', retryable: false });
    }
  });

  it('fails a job whose payload is not a call, without calling the source', async () => {
    const bad: [unknown, string][] = [
      [{ query: { table: 't' }, params: 'x' }, 'params'],
      [{ query: { table: 't' }, params: [], principal: { name: 'no id' } }, 'principal'],
      [{ query: { table: 't' }, params: [], limits: { maxRows: 'all' } }, 'limits'],
      [{ query: { table: 't' }, params: [], budgetMs: 'soon' }, 'budgetMs'],
      [{ query: { table: 't' }, params: [], requests: -1 }, 'requests'],
      [{ query: { table: 't' }, params: [], requests: 'many' }, 'requests'],
      // The tally names a key the worker writes: never a key (or pattern) of the job's choosing.
      [{ query: { table: 't' }, params: [], requestCap: { max: 10, tally: 'x:result:1' } }, 'requestCap'],
      [{ query: { table: 't' }, params: [], requestCap: { max: 10, tally: '' } }, 'requestCap'],
      [{ query: { table: 't' }, params: [], requestCap: { max: -1, tally: 'a' } }, 'requestCap'],
      [{ query: { table: 't' }, params: [], requestCap: { tally: 'a' } }, 'requestCap'],
      // How a chunk of a batched list goes (chunk-kinds.ts): a kind, for a param that is a list, once.
      [{ query: { table: 't' }, params: [['1']], chunkKinds: 'numbers' }, 'chunkKinds'],
      [{ query: { table: 't' }, params: [['1']], chunkKinds: [{ param: 0, kind: 'words' }] }, 'chunkKinds.0.kind'],
      [{ query: { table: 't' }, params: [['1']], chunkKinds: [{ param: 0, kind: 'values', sql: 'DROP TABLE t' }] }, 'chunkKinds.0'],
      [{ query: { table: 't' }, params: ['1'], chunkKinds: [{ param: 0, kind: 'values' }] }, 'chunkKinds.0.param'],
      [{ query: { table: 't' }, params: [['1']], chunkKinds: [{ param: 1, kind: 'values' }] }, 'chunkKinds.0.param'],
      [{ query: { table: 't' }, params: [['1']], chunkKinds: [{ param: 0, kind: 'values' }, { param: 0, kind: 'numbers' }] }, 'chunkKinds.1.param'],
      // A chunk holding a number is never of a list of decimal strings only, nor one holding a word of numbers only.
      [{ query: { table: 't' }, params: [[7]], chunkKinds: [{ param: 0, kind: 'text' }] }, 'chunkKinds.0.kind'],
      [{ query: { table: 't' }, params: [[7, 'x']], chunkKinds: [{ param: 0, kind: 'numbers' }] }, 'chunkKinds.0.kind'],
      [42, 'payload'],
    ];
    for (const [payload, what] of bad) {
      expect(await failure({ source: 'ref', fragmentId: 'f', payload: encode(payload) })).toMatchObject({ code: 'PLAN_INVALID', retryable: false, message: expect.stringContaining(what) });
    }
    expect(await failure({ source: 'ref', fragmentId: 'f', payload: 'not a payload' })).toMatchObject({ code: 'PLAN_INVALID', retryable: false });
    expect(calls).toEqual([]);
  });

  it('runs a job whose chunk kinds fit its chunks, with its params as they came', async () => {
    const payload = { query: { table: 't' }, params: [['9007199254740993'], [7]], chunkKinds: [{ param: 0, kind: 'numbers' }, { param: 1, kind: 'values' }] };
    const job = await q.add('fragment', { source: 'ref', fragmentId: 'f', payload: encode(payload) } as never, { attempts: 1 });
    await expect(job.waitUntilFinished(events, 10_000)).resolves.toMatchObject({ rows: 1 });
    expect(calls.splice(0)).toEqual([{ table: 't' }]);
  });

  it('fails a job whose budget was spent before it started with a retryable TIMEOUT, as ever', async () => {
    const spent = await failure({ source: 'ref', fragmentId: 'f', payload: encode({ query: { table: 't' }, params: [], budgetMs: -5, sentAt: Date.now() }) });
    expect(spent).toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect(calls).toEqual([]);
  });

  it('passes the query on as it came: resolved, it may hold bound values no plan schema takes (bigint, Date)', async () => {
    const rows = [0, 1, 2].map((i) => ({ id: i, big: BigInt(i) * 10_000_000_000n, at: new Date(Date.UTC(2024, 0, 1 + i)) }));
    const tables = () => ({ ref: memorySource({ tables: { t: rows } }) });
    const boundQueue = `${queue}-bound`;
    const w = createWorker({ sources: tables(), connection: REDIS_URL, queue: boundQueue });
    await w.ready();
    const plan = {
      id: 'bound',
      fragments: [
        { id: 'a', source: 'ref', query: { table: 't', where: { lt: ['id', 2] } } },
        { id: 'b', source: 'ref', dependsOn: ['a'], query: { table: 't', columns: ['id'], where: { in: ['big', { $from: 'a', column: 'big' }] } } },
        { id: 'c', source: 'ref', dependsOn: ['a'], query: { table: 't', columns: ['id'], where: { in: ['at', { $from: 'a', column: 'at' }] } } },
      ],
      merge: { op: 'union', inputs: ['b', 'c'] },
    };
    const local = createExecutor({ sources: tables(), cache: false });
    const remote = createExecutor({ sources: tables(), cache: false, retry: { attempts: 1 }, remote: { connection: REDIS_URL, queue: boundQueue } });
    try {
      const expected = await local.execute(plan);
      const got = await remote.execute(plan);
      expect(got.errors).toEqual([]);
      expect(got.rows).toEqual(expected.rows);
    } finally {
      await Promise.all([local.close(), remote.close()]);
      await w.close();
      const bq = new Queue(boundQueue, { connection: { url: REDIS_URL } });
      await bq.obliterate({ force: true });
      await bq.close();
    }
  });
});
