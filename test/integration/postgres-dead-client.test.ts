import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { connectionCheckHook } from '../../src/sources/postgres/connection-check.js';
import { createRemoteLane, postgresSource, TributaryError } from '../../src/index.js';
import type { Row } from '../../src/data/row.js';
import { pgRunning } from '../support/fault-server.js';
import { describeRedis, REDIS_URL } from '../support/redis.js';
import { describeWithServer, eventually, pgAdmin, requireServer } from '../support/servers.js';
import { spawnWorker, stopWorker, type WorkerProcess } from '../remote/fixtures/spawn.js';

const server = await requireServer('postgres');
const pgWorker = fileURLToPath(new URL('../remote/fixtures/pg-worker.ts', import.meta.url));

/** The session's `client_connection_check_interval`, as the source's own connection has it. */
async function checkInterval(options: Parameters<typeof postgresSource>[0]): Promise<unknown> {
  const source = postgresSource({ url: server.url, max: 1, ...options });
  try {
    const rows = (await source.execute({ sql: "SELECT current_setting('client_connection_check_interval') AS v" }, { params: [], signal: new AbortController().signal })) as Row[];
    return rows[0]?.v;
  } finally {
    await source.close();
  }
}

describeWithServer(server, 'postgresSource: the server checks that the client is still there (client_connection_check_interval)', () => {
  it('sets it on each connection: 1 s by default, connectionCheckMs otherwise, nothing with false or 0', async () => {
    expect(await checkInterval({})).toBe('1s');
    expect(await checkInterval({ connectionCheckMs: 250 })).toBe('250ms');
    expect(await checkInterval({ connectionCheckMs: false })).toBe('0');
    expect(await checkInterval({ connectionCheckMs: 0 })).toBe('0');
  });

  it('uses a connection whose server refuses the SET (PostgreSQL 13, a platform without the check), but not one that was lost', async () => {
    const hook = connectionCheckHook(undefined)!;
    const refusing = { query: () => Promise.reject(new pg.DatabaseError('unrecognized configuration parameter "client_connection_check_interval"', 0, 'error')) };
    await expect(hook(refusing as never)).resolves.toBeUndefined();
    const lost = { query: () => Promise.reject(new Error('Connection terminated unexpectedly')) };
    await expect(hook(lost as never)).rejects.toThrow(/terminated/);
    expect(connectionCheckHook(false)).toBeUndefined();
  });

  it('refuses a connectionCheckMs that is not a whole number of ms with CONFIG_INVALID naming the option', () => {
    for (const bad of [-1, 1.5, '1000', true, 2 ** 31]) {
      let error: unknown;
      try {
        postgresSource({ url: server.url, connectionCheckMs: bad } as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TributaryError);
      expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
      expect((error as TributaryError).issues.map((i) => i.path)).toContain('options.connectionCheckMs');
    }
  });
});

describeRedis('a BullMQ worker killed mid-statement', () => {
  describeWithServer(server, 'on PostgreSQL', () => {
    const queue = `tributary-test-${randomUUID()}`;
    let worker: WorkerProcess | undefined;

    afterAll(async () => {
      await stopWorker(worker);
      const q = new Queue(queue, { connection: { url: REDIS_URL } });
      await q.obliterate({ force: true });
      await q.close();
    });

    it('has its statement stopped by the server within about a second of its death, not at its end', { timeout: 60_000 }, async () => {
      worker = await spawnWorker({ QUEUE: queue, WORKER_ID: 'pg-dies', PG_URL: server.url, TRIBUTARY_REDIS_URL: REDIS_URL }, pgWorker);
      const admin = await pgAdmin(server.url);
      const lane = createRemoteLane({ connection: REDIS_URL, queue });
      const tag = `dead_${randomUUID().slice(0, 8)}`;
      try {
        // No budget: nothing but the server's own check can stop this statement before 60 s.
        const call = lane.call({ source: 'pg', fragmentId: 'f', payload: { query: { sql: `SELECT pg_sleep(60) AS x /* ${tag} */` }, params: [] } }, new AbortController().signal);
        call.catch(() => undefined);
        expect(await eventually(async () => (await pgRunning(admin, tag)) === 1, 15_000)).toBe(true);

        await stopWorker(worker, 'SIGKILL');
        // The check runs every second; the bound leaves room for a loaded machine.
        expect(await eventually(async () => (await pgRunning(admin, tag)) === 0, 8000)).toBe(true);
      } finally {
        await lane.close();
        await admin.exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()`, [`%/* ${tag} */%`]);
        await admin.close();
      }
    });
  });
});
