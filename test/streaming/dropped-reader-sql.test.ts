import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, mysqlSource, postgresSource, type Executor, type SourceExecutor } from '../../src/index.js';
import { describeWithServer, eventually, mysqlAdmin, mysqlUrl, pgAdmin, pgUrl, requireServer, type Admin, type ServerKind } from '../support/servers.js';

/**
 * A reader that takes a batch of `run.rows()` and then drops the iterator without
 * `return()` leaves the statement paused on its pooled connection (back-pressure). The run's
 * deadline, and `executor.close()`, still end it: the statement is gone from the server and
 * the pool's one connection serves the next query. So does the collector, once it has taken
 * the iterator: the run then stops as if the reader had left (`consumer-left`).
 */

// The collector, on demand (as `node --expose-gc` gives it), in this worker.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Target {
  kind: ServerKind;
  admin(): Promise<Admin>;
  /** A pool of one connection, so a held connection would block the next query. */
  source(): SourceExecutor;
  long(tag: string): string;
  /** Rows that come only once `admin` releases the gate it holds with `hold` (a lock on the server). */
  gated(tag: string, gate: number): string;
  hold(admin: Admin, gate: number): Promise<unknown>;
  release(admin: Admin, gate: number): Promise<unknown>;
  busy(admin: Admin, tag: string): Promise<number>;
}

const targets: Target[] = [
  {
    kind: 'postgres',
    admin: () => pgAdmin(),
    source: () => postgresSource({ url: pgUrl(), max: 1, streamBatchSize: 10 }),
    // Two small series in a nested loop: rows come as they are made (one big series is built whole first).
    long: (tag) => `SELECT a * 10000 + b AS id, '${tag}' AS tag FROM generate_series(0, 999) AS a, generate_series(1, 10000) AS b`,
    // An InitPlan: the lock is waited for once, before the first row.
    gated: (tag, gate) => `SELECT g AS id, '${tag}' AS tag FROM generate_series(1, 100) AS g WHERE (SELECT count(*) FROM (SELECT pg_advisory_xact_lock_shared(${gate})) AS l) = 1`,
    hold: (admin, gate) => admin.exec('SELECT pg_advisory_lock($1::bigint)', [gate]),
    release: (admin, gate) => admin.exec('SELECT pg_advisory_unlock($1::bigint)', [gate]),
    // A cursor held open between reads sits in its transaction ('idle in transaction').
    busy: async (admin, tag) =>
      Number((await admin.exec(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1 AND state <> 'idle' AND pid <> pg_backend_pid()`, [`%${tag}%`]))[0]?.n),
  },
  {
    kind: 'mysql',
    admin: () => mysqlAdmin(),
    source: () => mysqlSource({ url: mysqlUrl(), connectionLimit: 1, streamBatchSize: 10 }),
    long: (tag) => `SELECT seq AS id, '${tag}' AS tag FROM seq_1_to_10000000`,
    // The first row waits for the named lock; the others find it held by their own session.
    gated: (tag, gate) => `SELECT seq AS id, '${tag}' AS tag FROM seq_1_to_100 WHERE GET_LOCK('gate_${gate}', 30) = 1`,
    hold: (admin, gate) => admin.exec('SELECT GET_LOCK(?, 10)', [`gate_${gate}`]),
    release: (admin, gate) => admin.exec('SELECT RELEASE_LOCK(?)', [`gate_${gate}`]),
    busy: async (admin, tag) =>
      Number(
        (await admin.exec(`SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID() AND COMMAND <> 'Sleep'`, [`%${tag}%`]))[0]?.n,
      ),
  },
];

/** Collects until `check` holds (a finalizer runs in a task after the collection that found its object). */
async function collectUntil(check: () => Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  return eventually(async () => {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
    return check();
  }, timeoutMs);
}

for (const t of targets) {
  const check = await requireServer(t.kind);
  describeWithServer(check, `a dropped run.rows() iterator over ${t.kind}`, () => {
    let admin: Admin;
    beforeAll(async () => {
      admin = await t.admin();
    });
    afterAll(() => admin?.close());

    /** The pool's one connection is back: the next query runs. */
    async function expectPoolServes(executor: Executor): Promise<void> {
      const next = await executor.execute({ fragments: [{ id: 'one', source: 'db', query: { sql: 'SELECT 1 AS one' } }], merge: 'one' });
      expect(next.rows).toEqual([{ one: 1 }]);
    }

    /** A run whose reader takes one batch, then drops the iterator; the statement is still open on the server then. */
    async function dropAfterOne(executor: Executor, tag: string, deadlineMs?: number) {
      const run = executor.run({ ...(deadlineMs === undefined ? {} : { deadlineMs }), fragments: [{ id: 'big', source: 'db', query: { sql: t.long(tag) } }], merge: 'big' });
      const iterator = run.rows(10);
      expect((await iterator.next()).value).toHaveLength(10);
      expect(await t.busy(admin, tag)).toBe(1);
      return { run, iterator };
    }

    it("is ended by the run's deadline: the statement leaves the server and the pool's one connection serves the next query", async () => {
      const executor = createExecutor({ sources: { db: t.source() }, cache: false });
      try {
        // Warm: the pool's connection open, the run's machinery built, so the first batch comes well within the deadline.
        await executor.execute({ fragments: [{ id: 'one', source: 'db', query: { sql: 'SELECT 1 AS one' } }], merge: 'one' });
        const tag = `dropped_${randomBytes(4).toString('hex')}`;
        // Held, not read: a collected iterator would end the run as a reader leaving (below), before its deadline.
        const { run, iterator } = await dropAfterOne(executor, tag, 1000);
        const result = await run.result;
        expect(iterator).toBeDefined();
        expect(result.status).toBe('failed');
        expect(result.errors[0]).toMatchObject({ code: 'TIMEOUT', fragmentId: 'big' });
        expect(result.completeness.fragments.big).toMatchObject({ status: 'failed', reason: 'deadline', rowsStreamed: result.fragments.big!.rowCount });
        expect(await eventually(async () => (await t.busy(admin, tag)) === 0, 3000)).toBe(true);
        await expectPoolServes(executor);
      } finally {
        await executor.close();
      }
    });

    it('is ended by executor.close(): the run rejects CANCELLED, the iterator says so, and the statement leaves the server', async () => {
      const executor = createExecutor({ sources: { db: t.source() }, cache: false });
      const tag = `dropped_${randomBytes(4).toString('hex')}`;
      const { run, iterator } = await dropAfterOne(executor, tag);
      await executor.close();
      await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
      // The batches already queued come first, then the end: CANCELLED.
      const drain = async (): Promise<void> => {
        while (!(await iterator.next()).done);
      };
      await expect(drain()).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(await eventually(async () => (await t.busy(admin, tag)) === 0, 3000)).toBe(true);
    });

    /** Starts a streamed run, reads one batch in a scope of its own and drops the iterator; the statement is open then. */
    async function dropUnreachable(executor: Executor, tag: string, read: 'one' | 'none' = 'one') {
      const run = executor.run({ fragments: [{ id: 'big', source: 'db', query: { sql: t.long(tag) } }], merge: 'big' });
      await (async () => {
        const iterator = run.rows(10);
        if (read === 'one') expect((await iterator.next()).value).toHaveLength(10);
      })();
      expect(await eventually(async () => (await t.busy(admin, tag)) === 1, 3000)).toBe(true);
      return run;
    }

    it('ends the statement once the collector has taken the iterator, and the run resolves ok with consumer-left', async () => {
      const executor = createExecutor({ sources: { db: t.source() }, cache: false });
      try {
        const tag = `collected_${randomBytes(4).toString('hex')}`;
        const run = await dropUnreachable(executor, tag);
        expect(await collectUntil(async () => (await t.busy(admin, tag)) === 0)).toBe(true);
        const result = await run.result;
        expect(result.status).toBe('ok');
        expect(result.completeness.complete).toBe(false);
        expect(result.completeness.fragments.big).toMatchObject({ reason: 'consumer-left' });
        await expectPoolServes(executor);
      } finally {
        await executor.close();
      }
    });

    it('ends it too when the iterator was dropped before its first read', async () => {
      const executor = createExecutor({ sources: { db: t.source() }, cache: false });
      try {
        const tag = `unread_${randomBytes(4).toString('hex')}`;
        const run = await dropUnreachable(executor, tag, 'none');
        expect(await collectUntil(async () => (await t.busy(admin, tag)) === 0)).toBe(true);
        expect((await run.result).completeness.fragments.big).toMatchObject({ reason: 'consumer-left' });
      } finally {
        await executor.close();
      }
    });

    it('leaves a reader awaiting next() alone though it dropped the iterator: a pending read is no leaving', async () => {
      const executor = createExecutor({ sources: { db: t.source() }, cache: false });
      const tag = `pending_${randomBytes(4).toString('hex')}`;
      const gate = Math.floor(Math.random() * 2 ** 31);
      await t.hold(admin, gate);
      try {
        const run = executor.run({ fragments: [{ id: 'big', source: 'db', query: { sql: t.gated(tag, gate) } }], merge: 'big' });
        // The read is under way; nothing holds its iterator (as in `await run.rows().next()`).
        const first = run.rows(10).next();
        expect(await eventually(async () => (await t.busy(admin, tag)) === 1, 3000)).toBe(true);
        for (let i = 0; i < 5; i++) {
          gc();
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await t.release(admin, gate);
        expect((await first).value).toHaveLength(10);
      } finally {
        await t.release(admin, gate);
        await executor.close();
      }
    });

    it('leaves a reader that still holds its iterator alone: collections do not stop it', async () => {
      const executor = createExecutor({ sources: { db: t.source() }, cache: false });
      const tag = `held_${randomBytes(4).toString('hex')}`;
      const run = executor.run({ fragments: [{ id: 'big', source: 'db', query: { sql: t.long(tag) } }], merge: 'big' });
      const iterator = run.rows(10);
      try {
        expect((await iterator.next()).value).toHaveLength(10);
        for (let i = 0; i < 5; i++) {
          gc();
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(await t.busy(admin, tag)).toBe(1);
        expect((await iterator.next()).value).toHaveLength(10);
      } finally {
        await iterator.return?.();
        await executor.close();
      }
      expect((await run.result).completeness.fragments.big).toMatchObject({ reason: 'consumer-left' });
    });
  });
}
