import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, mysqlSource, postgresSource, TributaryError, type Executor, type FragmentError, type SourceExecutor } from '../../src/index.js';
import { describeWithServer, eventually, mysqlAdmin, mysqlUrl, pgAdmin, pgUrl, requireServer, type Admin, type ServerKind } from '../support/servers.js';

/**
 * A SQL fragment stopped in the middle of its stream — after some batches went out, with more
 * on the server: `run.cancel()`, a `break`, and a statement that fails after its first rows.
 * Each time the statement leaves the server, and the pool's only connection serves the next run.
 */

interface Target {
  kind: ServerKind;
  admin(): Promise<Admin>;
  source(): SourceExecutor;
  /** Many rows, slowly enough that the statement is still on the server after the first batches. */
  many(tag: string): string;
  /** Rows that fail (division by zero) after the first ones. */
  failing(tag: string): string;
  running(admin: Admin, tag: string): Promise<number>;
}

const targets: Target[] = [
  {
    kind: 'postgres',
    admin: () => pgAdmin(),
    source: () => postgresSource({ url: pgUrl(), max: 1, streamBatchSize: 2 }),
    many: (tag) => `SELECT i AS n, '${tag}' AS tag FROM generate_series(1, 200) i, LATERAL (SELECT pg_sleep(CASE WHEN i > 4 THEN 0.1 ELSE 0 END)) s`,
    failing: (tag) => `SELECT 10 / (5 - i) AS n, '${tag}' AS tag FROM generate_series(1, 10) i`,
    running: async (admin, tag) =>
      Number((await admin.exec(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1 AND state = 'active' AND pid <> pg_backend_pid()`, [`%${tag}%`]))[0]?.n),
  },
  {
    kind: 'mysql',
    admin: () => mysqlAdmin(),
    source: () => mysqlSource({ url: mysqlUrl(), connectionLimit: 1, streamBatchSize: 2 }),
    // MariaDB sends rows when its network buffer fills: wide rows, so the first batches come while the rest waits on the server (paused by back-pressure).
    many: (tag) => `SELECT seq AS n, '${tag}' AS tag, REPEAT('x', 2000) AS pad FROM seq_1_to_1000000`,
    failing: (tag) => `SELECT seq AS n, '${tag}' AS tag, IF(seq > 4, (SELECT 1 UNION ALL SELECT 2), 0) AS z FROM seq_1_to_10`,
    running: async (admin, tag) =>
      Number(
        (await admin.exec(`SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID() AND COMMAND <> 'Sleep'`, [`%${tag}%`]))[0]?.n,
      ),
  },
];

for (const t of targets) {
  const check = await requireServer(t.kind);
  describeWithServer(check, `a SQL stream stopped midway over ${t.kind}`, () => {
    let executor: Executor;
    let admin: Admin;

    beforeAll(async () => {
      admin = await t.admin();
      executor = createExecutor({ sources: { db: t.source() }, cache: false });
    });

    afterAll(async () => {
      await executor?.close();
      await admin?.close();
    });

    const nextRunAnswers = async (): Promise<void> => {
      const again = await executor.execute({ fragments: [{ id: 'one', source: 'db', query: { sql: 'SELECT 1 AS one' } }] });
      expect(again.rows).toEqual([{ one: 1 }]);
    };

    it('run.cancel() after the first batches: the iterator and the result say CANCELLED, the statement leaves the server', async () => {
      const marker = `cancel_${randomBytes(4).toString('hex')}`;
      const run = executor.run({ fragments: [{ id: 'many', source: 'db', query: { sql: t.many(marker) } }] });
      let seen = 0;
      let thrown: unknown;
      try {
        for await (const batch of run.rows()) {
          seen += batch.length;
          if (seen >= 4) run.cancel('enough');
        }
      } catch (error) {
        thrown = error;
      }
      expect(seen).toBeGreaterThanOrEqual(4);
      expect(seen).toBeLessThan(1000);
      expect(thrown).toBeInstanceOf(TributaryError);
      expect((thrown as TributaryError).code).toBe('CANCELLED');
      await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(await eventually(async () => (await t.running(admin, marker)) === 0, 3000)).toBe(true);
      await nextRunAnswers();
    });

    it('a break after the first batches stops the statement and gives the pool its connection back', async () => {
      const marker = `break_${randomBytes(4).toString('hex')}`;
      const run = executor.run({ fragments: [{ id: 'many', source: 'db', query: { sql: t.many(marker) } }] });
      let seen = 0;
      for await (const batch of run.rows()) {
        seen += batch.length;
        if (seen >= 4) break;
      }
      const result = await run.result;
      expect(result.status).toBe('ok');
      expect(result.completeness.fragments.many).toMatchObject({ reason: 'consumer-left', rowsMayBeMissing: true });
      expect(await eventually(async () => (await t.running(admin, marker)) === 0, 3000)).toBe(true);
      await nextRunAnswers();
    });

    it("the query's deadline passing mid-stream: the iterator throws TIMEOUT, the run fails with it, the statement leaves the server", async () => {
      const marker = `deadline_${randomBytes(4).toString('hex')}`;
      const run = executor.run({ fragments: [{ id: 'many', source: 'db', query: { sql: t.many(marker) } }] }, { deadlineMs: 400 });
      let seen = 0;
      let thrown: unknown;
      try {
        for await (const batch of run.rows()) {
          seen += batch.length;
          // A slow reader: the source waits on it, and the deadline passes meanwhile.
          if (seen >= 4) await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } catch (error) {
        thrown = error;
      }
      expect(seen).toBeGreaterThanOrEqual(4);
      expect((thrown as TributaryError).code).toBe('TIMEOUT');
      const result = await run.result;
      expect(result.status).toBe('failed');
      expect(result.errors.map((e) => [(e as FragmentError).fragmentId, e.code])).toEqual([['many', 'TIMEOUT']]);
      expect(await eventually(async () => (await t.running(admin, marker)) === 0, 3000)).toBe(true);
      await nextRunAnswers();
    });

    it('a statement that fails after its first rows: partial, its error in result.errors, the rows it streamed named', async () => {
      const marker = `fail_${randomBytes(4).toString('hex')}`;
      const run = executor.run({ errorPolicy: 'partial', fragments: [{ id: 'bad', source: 'db', retry: { attempts: 1 }, query: { sql: t.failing(marker) } }] });
      let seen = 0;
      for await (const batch of run.rows()) seen += batch.length;
      // PostgreSQL sends the rows before the failing one (two batches); MariaDB may hold them in its buffer.
      if (t.kind === 'postgres') expect(seen).toBe(4);
      const result = await run.result;
      expect(result.status).toBe('partial');
      expect(result.errors.map((e) => (e as FragmentError).fragmentId)).toEqual(['bad']);
      expect(result.completeness.complete).toBe(false);
      expect(result.completeness.fragments.bad).toMatchObject({ status: 'failed', rowsStreamed: seen });
      expect(result.fragments.bad!.rowCount).toBe(seen);
      await nextRunAnswers();
    });
  });
}
