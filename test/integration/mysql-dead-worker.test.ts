import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { afterAll, expect, it } from 'vitest';
import { createRemoteLane, createWorker, mysqlSource, remoteSource, type RemoteWorker } from '../../src/index.js';
import { describeRedis, dropQueues, REDIS_URL } from '../support/redis.js';
import { describeWithServer, eventually, mysqlAdmin, requireServer, type Admin } from '../support/servers.js';
import { spawnWorker, stopWorker, type WorkerProcess } from '../remote/fixtures/spawn.js';

const server = await requireServer('mysql');
const mysqlWorker = fileURLToPath(new URL('../remote/fixtures/mysql-worker.ts', import.meta.url));

/**
 * 60 s of server time that MariaDB does not stop when its client dies: a plain `SLEEP(60)`
 * looks at its connection every 5 s and ends once the client is gone, but a run of short
 * sleeps (like a long scan or aggregate) never does.
 */
const LONG = (marker: string) => `SELECT SUM(SLEEP(0.1)) AS s FROM seq_1_to_600 /* ${marker} */`;

/** The statements whose text holds `text`, other than the asking connection's. */
async function running(admin: Admin, text: string): Promise<{ id: number; info: string }[]> {
  const rows = await admin.exec(`SELECT ID AS id, INFO AS info FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID() AND COMMAND <> 'Sleep'`, [`%${text}%`]);
  return rows.map((r) => ({ id: Number(r.id), info: String(r.info) }));
}

describeRedis('a BullMQ worker killed mid-statement', () => {
  describeWithServer(server, 'on MariaDB', () => {
    const queue = `tributary-test-${randomUUID()}`;
    let dies: WorkerProcess | undefined;
    let lives: RemoteWorker | undefined;

    afterAll(async () => {
      await lives?.close();
      await stopWorker(dies);
      await dropQueues(queue);
    });

    it('has its statement stopped by a live worker serving the source (KILL QUERY ID of the job-tagged statement), not left to run 60 s; a look-alike tag runs on', { timeout: 60_000 }, async () => {
      dies = await spawnWorker({ QUEUE: queue, WORKER_ID: 'my-dies', MYSQL_URL: server.url, TRIBUTARY_REDIS_URL: REDIS_URL }, mysqlWorker);
      const admin = await mysqlAdmin(server.url);
      const lane = createRemoteLane({ connection: REDIS_URL, queue });
      const marker = `dead_${randomUUID().slice(0, 8)}`;
      let decoy: mysql.Connection | undefined;
      try {
        // No budget: nothing on the server stops this statement before 60 s.
        const call = lane.call({ source: 'my', fragmentId: 'f', payload: { query: { sql: LONG(marker) }, params: [] } }, new AbortController().signal);
        call.catch(() => undefined);
        expect(await eventually(async () => (await running(admin, marker)).length === 1, 15_000)).toBe(true);
        const [statement] = await running(admin, marker);
        // The job's tag leads the statement text.
        const tag = /^\/\* tributary call ([A-Za-z0-9-]+) \*\//.exec(statement!.info)?.[1];
        expect(tag).toBeDefined();

        // Another statement whose tag starts like this one's: it must be left alone.
        decoy = await mysql.createConnection({ uri: server.url });
        decoy.on('error', () => undefined);
        decoy.query(`/* tributary call ${tag}0 */ ${LONG(`${marker}_decoy`)}`).catch(() => undefined);
        expect(await eventually(async () => (await running(admin, `${marker}_decoy`)).length === 1, 5000)).toBe(true);

        // The live worker, started once the job is taken (so the dying one runs it).
        lives = createWorker({ sources: { my: mysqlSource({ url: server.url, connectionLimit: 1 }) }, connection: REDIS_URL, queue, id: 'my-lives', lockDurationMs: 1000, stalledIntervalMs: 250 });
        await lives.ready();
        await stopWorker(dies, 'SIGKILL');
        await expect(call).rejects.toMatchObject({ code: 'SOURCE_UNAVAILABLE', message: expect.stringMatching(/stalled/) });

        // Stalled after ~1.25 s, then reaped: well before the 60 s the statement would run.
        expect(await eventually(async () => (await running(admin, marker)).every((r) => r.info.includes('_decoy')), 10_000)).toBe(true);
        expect(await running(admin, `${marker}_decoy`)).toHaveLength(1);
      } finally {
        decoy?.destroy();
        await lane.close();
        for (const { id } of await running(admin, marker)) await admin.exec(`KILL QUERY ${id}`).catch(() => undefined);
        await admin.close();
      }
    });

    it('has its statement stopped by the coordinator when it cancels the call, with no worker left alive to reap it', { timeout: 60_000 }, async () => {
      const alone = `tributary-test-${randomUUID()}`;
      const worker = await spawnWorker({ QUEUE: alone, WORKER_ID: 'my-alone', MYSQL_URL: server.url, TRIBUTARY_REDIS_URL: REDIS_URL }, mysqlWorker);
      const admin = await mysqlAdmin(server.url);
      const lane = createRemoteLane({ connection: REDIS_URL, queue: alone });
      // The coordinator's own copy of the source: it runs no call, but can stop a tagged statement.
      const my = remoteSource('my', mysqlSource({ url: server.url }), lane);
      const marker = `cancelled_${randomUUID().slice(0, 8)}`;
      try {
        const cancel = new AbortController();
        const call = Promise.resolve(my.execute({ sql: LONG(marker) }, { params: [], signal: cancel.signal }));
        call.catch(() => undefined);
        expect(await eventually(async () => (await running(admin, marker)).length === 1, 15_000)).toBe(true);
        await stopWorker(worker, 'SIGKILL');
        cancel.abort(new Error('cancelled'));
        await expect(call).rejects.toThrow('cancelled');
        // No live worker fails the job as stalled, so nothing else stops the 60 s statement.
        expect(await eventually(async () => (await running(admin, marker)).length === 0, 5000)).toBe(true);
      } finally {
        await my.close?.();
        for (const { id } of await running(admin, marker)) await admin.exec(`KILL QUERY ${id}`).catch(() => undefined);
        await admin.close();
        await dropQueues(alone);
      }
    });
  });
});
