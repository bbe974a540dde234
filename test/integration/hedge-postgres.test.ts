import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, postgresSource, type ExecutionEvent } from '../../src/index.js';
import { describeWithServer, eventually, pgAdmin, requireServer, uniqueName, type Admin } from '../support/servers.js';

const server = await requireServer('postgres');

describeWithServer(server, 'hedged requests on PostgreSQL', () => {
  let admin: Admin;
  beforeAll(async () => {
    admin = await pgAdmin(server.url);
  });
  afterAll(() => admin?.close());

  it('the hedge answers first and the losing pg_sleep is cancelled on the server', async () => {
    const marker = uniqueName('hedge');
    // The first call takes an advisory lock and sleeps 30 s; the hedge cannot take the lock
    // and answers at once. Same statement, so the hedge is a true second try of the call.
    const key = Math.floor(Math.random() * 2 ** 31);
    const sql = `SELECT CASE WHEN pg_try_advisory_xact_lock($1::bigint) THEN (SELECT 'first' FROM pg_sleep(30)) ELSE 'hedge' END AS won, '${marker}' AS marker`;
    const executor = createExecutor({ sources: { pg: postgresSource({ url: server.url, max: 4 }) }, cache: false, hedge: { afterMs: 200, maxExtraRatio: 1 } });
    const sleeping = async (): Promise<number> => {
      const [row] = await admin.exec(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1 AND query LIKE '%pg_sleep%' AND state = 'active' AND pid <> pg_backend_pid()`, [`%${marker}%`]);
      return Number(row!.n);
    };
    try {
      const run = executor.run({ fragments: [{ id: 'slow', source: 'pg', query: { sql, params: [key] } }] });
      const events: ExecutionEvent[] = [];
      run.events$.subscribe((e) => events.push(e));
      const result = await run.result;
      expect(result.status).toBe('ok');
      // The hedge found the lock taken: the first call was still sleeping on the server.
      expect(result.rows).toEqual([{ won: 'hedge', marker }]);
      expect(events.filter((e) => e.type === 'fragment.hedged')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'fragment.started')).toHaveLength(1);
      // The loser's statement is cancelled on the server, long before its 30 s (generous wait).
      expect(await eventually(async () => (await sleeping()) === 0, 10_000, 100)).toBe(true);
    } finally {
      await executor.close();
    }
  }, 30_000);
});
