import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, createVirtualClock, postgresSource } from '../../src/index.js';
import { within } from '../support/http-server.js';
import { describeWithServer, eventually, pgAdmin, requireServer, uniqueName, type Admin } from '../support/servers.js';

const server = await requireServer('postgres');

/** A plain SELECT that only reads is retried after a timeout, as before the retry-safety change. */
describeWithServer(server, 'retries of a PostgreSQL read', () => {
  let admin: Admin;
  beforeAll(async () => {
    admin = await pgAdmin(server.url);
  });
  afterAll(() => admin?.close());

  it('a SELECT calling replace() that times out is retried (it only reads)', async () => {
    const table = uniqueName('retry_read');
    await admin.exec(`CREATE TABLE ${table} (n int)`);
    // The first run sleeps until the marker row exists; the retry finds it and answers at once.
    const sql = `SELECT replace('a-b', '-', '') AS v, pg_sleep(CASE WHEN (SELECT count(*) FROM ${table}) = 0 THEN 30 ELSE 0 END)::text AS s`;
    const clock = createVirtualClock();
    const executor = createExecutor({ sources: { pg: postgresSource({ url: server.url, max: 2 }) }, cache: false, clock, timeoutMs: 60_000, retry: { attempts: 3, initialDelayMs: 0, jitter: 'none' } });
    try {
      const pending = executor.execute({ fragments: [{ id: 'read', source: 'pg', query: { sql, params: [] } }] });
      const sleeping = async () => (await admin.exec(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1 AND state = 'active' AND pid <> pg_backend_pid()`, [`%replace('a-b'%`]))[0]!.n === 1;
      expect(await eventually(sleeping, 10_000)).toBe(true);
      await admin.exec(`INSERT INTO ${table} VALUES (1)`);
      await clock.advanceAsync(60_000);
      await clock.advanceAsync(100);
      const result = await within(10_000, pending);
      expect(result!.errors).toEqual([]);
      expect(result!.status).toBe('ok');
    } finally {
      await executor.close();
      await admin.exec(`DROP TABLE IF EXISTS ${table}`);
    }
  }, 30_000);
});
