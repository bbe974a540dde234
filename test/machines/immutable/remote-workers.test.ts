import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, createWorker, postgresSource, type Executor, type RemoteWorker } from '../../../src/index.js';
import { flakyBatch, type FlakyBatch } from '../../support/flaky-batch.js';
import { REDIS_URL, redisUnavailableReason } from '../../support/redis.js';
import { snapshotAudit, type SnapshotAudit } from '../../support/snapshot-audit.js';
import { describeWithServer, eventually, pgAdmin, pgUrl, requireServer, uniqueName, type Admin } from '../../support/servers.js';

const pgCheck = await requireServer('postgres');
const redisReason = await redisUnavailableReason();
if (redisReason !== undefined && process.env.CI === 'true') throw new Error(`Redis not reachable at ${REDIS_URL} (${redisReason}). CI=true, so this is a failure, not a skip.`);
const redisCheck = { skipReason: redisReason === undefined ? undefined : `Redis not reachable at ${REDIS_URL} (${redisReason})` };

/**
 * Issue 12 when fragments run on a BullMQ worker (real Redis, real PostgreSQL): a batched
 * bind join whose one batch is retried, and a run cancelled while the worker's statement
 * sleeps on the server. Every snapshot and event kept on arrival is unchanged after the run;
 * the inspector's stream is consistent (the source actor is named by the source, as locally).
 */
describeWithServer(pgCheck.skipReason ? pgCheck : redisCheck, 'immutable snapshots: remote workers', () => {
  const queue = `tributary-imm-${randomUUID()}`;
  let pg: Admin;
  let flaky: FlakyBatch;
  let worker: RemoteWorker;
  let audit: SnapshotAudit;
  let executor: Executor;

  beforeAll(async () => {
    pg = await pgAdmin();
    flaky = await flakyBatch(pg, 'immremote');
    worker = createWorker({ id: 'w1', queue, connection: REDIS_URL, concurrency: 2, sources: { pg: postgresSource({ url: pgUrl() }) } });
    await worker.ready();
    audit = snapshotAudit();
    executor = createExecutor({
      sources: { keys: flaky.keys, pg: postgresSource({ url: pgUrl() }) },
      cache: false,
      circuitBreaker: false,
      retry: { attempts: 3, initialDelayMs: 1, jitter: 'none' },
      remote: { connection: REDIS_URL, queue, sources: ['pg'] },
      inspect: audit.inspect,
    });
  });
  afterAll(async () => {
    await executor?.close();
    await worker?.drain();
    const q = new Queue(queue, { connection: { url: REDIS_URL } });
    await q.obliterate({ force: true });
    await q.close();
    await flaky?.drop();
    await pg?.close();
  });

  it('a batched bind join with a retried batch', async () => {
    const run = audit.watch(executor.run(flaky.plan()));
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.stats.retries).toBe(1);
    expect(result.rows).toEqual([1, 2, 3, 4].map((id) => ({ id })));
    expect(audit.problems(run, result, ['keys', 'pg'])).toEqual([]);
    expect(audit.kept(run).children.sort()).toEqual(['keys', 'pg']);
  });

  it('a run cancelled while the worker’s statement runs', async () => {
    const marker = uniqueName('imm_remote');
    const run = audit.watch(executor.run({ id: marker, fragments: [{ id: 'sleeper', source: 'pg', query: { sql: `SELECT 1 AS one FROM pg_sleep(30) -- ${marker}`, params: [] } }] }));
    const onServer = () => pg.exec(`SELECT 1 FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()`, [`%-- ${marker}%`]).then((r) => r.length === 1);
    expect(await eventually(onServer, 10_000, 20)).toBe(true);
    run.cancel('enough');
    const error = await run.result.then(() => new Error('not cancelled'), (e: unknown) => e as Error);
    expect(error).toMatchObject({ code: 'CANCELLED' });
    expect(await eventually(async () => !(await onServer()), 10_000, 20)).toBe(true);
    expect(audit.problems(run, error, ['pg'])).toEqual([]);
  });
});
