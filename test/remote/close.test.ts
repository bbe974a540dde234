import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterAll, expect, it } from 'vitest';
import { createExecutor, postgresSource } from '../../src/index.js';
import { pgRunning } from '../support/fault-server.js';
import { describeRedis, REDIS_URL } from '../support/redis.js';
import { describeWithServer, eventually, pgAdmin, requireServer } from '../support/servers.js';
import { spawnWorker, stopWorker, type WorkerProcess } from './fixtures/spawn.js';

const pgWorker = fileURLToPath(new URL('./fixtures/pg-worker.ts', import.meta.url));
const server = await requireServer('postgres');

describeRedis('remote execution: executor.close()', () => {
  describeWithServer(server, 'with a worker on PostgreSQL', () => {
    const queue = `tributary-test-${randomUUID()}`;
    let worker: WorkerProcess | undefined;

    afterAll(async () => {
      await stopWorker(worker);
      const q = new Queue(queue, { connection: { url: REDIS_URL } });
      await q.obliterate({ force: true });
      await q.close();
    });

    it('stops the statement a worker is running: the abort reaches Redis before the connection quits', async () => {
      worker = await spawnWorker({ QUEUE: queue, WORKER_ID: 'pg', PG_URL: server.url, TRIBUTARY_REDIS_URL: REDIS_URL }, pgWorker);
      const admin = await pgAdmin(server.url);
      const tag = `close_${randomUUID().slice(0, 8)}`;
      try {
        const executor = createExecutor({
          sources: { pg: postgresSource({ url: server.url }) },
          remote: { connection: REDIS_URL, queue },
          cache: false,
          telemetry: false,
          timeoutMs: 60_000,
        });
        const run = executor.run({ id: 'close', fragments: [{ id: 'f', source: 'pg', query: { sql: `SELECT pg_sleep(30) AS x /* ${tag} */`, params: [] } }] });
        run.result.catch(() => undefined);
        expect(await eventually(async () => (await pgRunning(admin, tag)) === 1, 10_000)).toBe(true);

        await executor.close();
        await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
        // The worker aborts the call, and the source cancels the statement on the server.
        expect(await eventually(async () => (await pgRunning(admin, tag)) === 0, 3000)).toBe(true);
      } finally {
        await admin.exec(`SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()`, [`%/* ${tag} */%`]);
        await admin.close();
      }
    });
  });
});
