import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, createVirtualClock, postgresSource } from '../../src/index.js';
import { within } from '../support/http-server.js';
import { describeWithServer, eventually, pgAdmin, requireServer, uniqueName, type Admin } from '../support/servers.js';

const server = await requireServer('postgres');

/**
 * An INSERT whose attempt times out may have run (a timeout comes after the statement went
 * out): it is not retried, so a write is never made twice behind the caller's back.
 */
describeWithServer(server, 'retries of a PostgreSQL write', () => {
  let admin: Admin;
  beforeAll(async () => {
    admin = await pgAdmin(server.url);
  });
  afterAll(() => admin?.close());

  it('an INSERT … RETURNING that times out runs once, and says why it was not retried', async () => {
    const table = uniqueName('retry_write');
    const seq = `${table}_calls`;
    await admin.exec(`CREATE TABLE ${table} (n bigint)`);
    // nextval is not rolled back with the statement: it counts every run of the INSERT.
    await admin.exec(`CREATE SEQUENCE ${seq}`);
    // The first run sleeps (until the attempt's timeout cancels it); any later run inserts at once.
    const sql = `INSERT INTO ${table} (n) SELECT v FROM (SELECT nextval('${seq}') AS v) s, LATERAL (SELECT pg_sleep(CASE WHEN v = 1 THEN 30 ELSE 0 END)) z RETURNING n`;
    const clock = createVirtualClock();
    const executor = createExecutor({ sources: { pg: postgresSource({ url: server.url, max: 2 }) }, cache: false, clock, timeoutMs: 60_000, retry: { attempts: 3, initialDelayMs: 0, jitter: 'none' } });
    try {
      const pending = executor.execute({ fragments: [{ id: 'ins', source: 'pg', query: { sql, params: [] } }] });
      const sleeping = async () => (await admin.exec(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1 AND state = 'active' AND pid <> pg_backend_pid()`, [`%${seq}%`]))[0]!.n === 1;
      expect(await eventually(sleeping, 10_000)).toBe(true);
      await clock.advanceAsync(60_000);
      await clock.advanceAsync(100); // room for a retry's (zero) backoff, were there one
      const result = await within(10_000, pending);
      expect(result!.status).toBe('failed');
      expect(result!.errors[0]).toMatchObject({ code: 'TIMEOUT', retryable: false, attempt: 1 });
      expect(result!.errors[0]!.message).toContain('not retried: the call may have run (source "pg" says the call writes)');
      const [calls] = await admin.exec(`SELECT last_value::int AS n FROM ${seq}`);
      expect(calls!.n).toBe(1);
      const [rows] = await admin.exec(`SELECT count(*)::int AS n FROM ${table}`);
      expect(rows!.n).toBe(0);
    } finally {
      await executor.close();
      await admin.exec(`DROP TABLE IF EXISTS ${table}`);
      await admin.exec(`DROP SEQUENCE IF EXISTS ${seq}`);
    }
  }, 30_000);
});
