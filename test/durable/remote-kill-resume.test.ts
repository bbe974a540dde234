import { randomInt, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createExecutor, postgresSource, redisRunStore, sqliteRunStore, storedRunKey, type Executor, type RunStore } from '../../src/index.js';
import { describeRedis, dropKeys, inspectClient, REDIS_URL, uniqueNamespace } from '../support/redis.js';
import { describeWithServer, eventually, pgAdmin, requireServer, scratchTables, uniqueName, type Admin } from '../support/servers.js';
import { spawnWorker, stopWorker, type WorkerProcess } from '../remote/fixtures/spawn.js';
import { startChild, type Child } from './fixtures/child.js';

const server = await requireServer('postgres');
const pgWorker = fileURLToPath(new URL('../remote/fixtures/pg-worker.ts', import.meta.url));
const coordinator = fileURLToPath(new URL('./fixtures/remote-child.ts', import.meta.url));
const alice = { id: 'alice' };
/** Long: a resume right after the kill proves the dead holder's lease is taken over, not waited out. */
const LEASE_MS = 60_000;
/** The worker's default `resultTtlMs`: the rows of a job nobody reads expire within it. */
const RESULT_TTL_MS = 5 * 60_000;

interface Store {
  env: Record<string, string>;
  open(): RunStore;
  /** Checks the store holds nothing of the run after it finished. */
  empty(executor: Executor): Promise<void>;
}

/**
 * A durable run whose fragments run on a BullMQ worker (PostgreSQL): the coordinator (a child
 * process) is SIGKILLed once `a` is stored and `b` is running on the worker (PostgreSQL holds
 * it on an advisory lock the test owns); another coordinator (this process) resumes it. Each
 * call of a fragment's query inserts a row into a counter table, so the server counts them.
 */
function remoteKillAndResume(store: () => Store): void {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let queue: string;
  let worker: WorkerProcess | undefined;
  let child: Child | undefined;
  const executors: Executor[] = [];
  const functions: string[] = [];

  beforeEach(async () => {
    queue = `tributary-test-${randomUUID()}`;
    admin = await pgAdmin(server.url);
    tables = scratchTables(admin);
    worker = await spawnWorker({ QUEUE: queue, WORKER_ID: 'pg', PG_URL: server.url, TRIBUTARY_REDIS_URL: REDIS_URL }, pgWorker);
  });
  afterEach(async () => {
    await child?.kill();
    await Promise.all(executors.splice(0).map((e) => e.close()));
    await stopWorker(worker);
    const q = new Queue(queue, { connection: { url: REDIS_URL } });
    await q.obliterate({ force: true });
    await q.close();
    await dropKeys(`tributary:${queue}:`, `bull:${queue}:`);
    // Function names come from uniqueName (letters, digits, _); dropped before their tables.
    for (const fn of functions.splice(0)) await admin.exec(`DROP FUNCTION IF EXISTS ${fn}`);
    await tables.dropAll();
  });

  it('a fragment finished before the kill is not run again; the result is the one SQL statement\'s; no job or run is left', async () => {
    const s = store();
    const customers = tables.name('customers');
    const orders = tables.name('orders');
    const calls = tables.name('calls');
    const fetchA = uniqueName('fetch_a');
    const fetchB = uniqueName('fetch_b');
    functions.push(fetchA, fetchB);
    const gate = randomInt(1, 2 ** 47);
    await admin.exec(`CREATE TABLE ${customers} (id int PRIMARY KEY, name text NOT NULL)`);
    await admin.exec(`CREATE TABLE ${orders} (id int PRIMARY KEY, customer_id int NOT NULL, amount int NOT NULL)`);
    await admin.exec(`CREATE TABLE ${calls} (fragment text NOT NULL)`);
    await admin.exec(`INSERT INTO ${customers} VALUES (1, 'Ann'), (2, 'Bob'), (3, 'Cy')`);
    await admin.exec(`INSERT INTO ${orders} VALUES (10, 1, 1250), (11, 3, 725), (12, 3, 100), (13, 4, 999)`);
    await admin.exec(
      `CREATE FUNCTION ${fetchA}() RETURNS TABLE (id int, name text) LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO ${calls} VALUES ('a');
         RETURN QUERY SELECT c.id, c.name FROM ${customers} c;
       END $$`,
    );
    // b counts its call, then waits while the test holds the advisory lock `gate`.
    await admin.exec(
      `CREATE FUNCTION ${fetchB}(ids int[]) RETURNS TABLE (customer_id int, amount int) LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO ${calls} VALUES ('b');
         PERFORM pg_advisory_xact_lock_shared(${gate});
         RETURN QUERY SELECT o.customer_id, o.amount FROM ${orders} o WHERE o.customer_id = ANY(ids);
       END $$`,
    );
    const plan = {
      id: 'durable-remote',
      fragments: [
        { id: 'a', source: 'pg', query: { sql: `SELECT id, name FROM ${fetchA}()`, params: [] } },
        { id: 'b', source: 'pg', dependsOn: ['a'], query: { sql: `SELECT customer_id, amount FROM ${fetchB}($1::int[])`, params: [{ $from: 'a', column: 'id' }] } },
      ],
      merge: { op: 'sort', by: [{ column: 'amount' }], input: { op: 'join', type: 'inner', left: 'a', right: 'b', on: [['id', 'customer_id']] } },
    };
    const counts = async (): Promise<Record<string, number>> => {
      const rows = await admin.exec(`SELECT fragment, count(*)::int AS n FROM ${calls} GROUP BY fragment`);
      return Object.fromEntries(rows.map((r) => [String(r.fragment), Number(r.n)]));
    };
    const bWaiting = async (): Promise<boolean> => {
      const [row] = await admin.exec(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1 AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`, [`%${fetchB}(%`]);
      return Number(row?.n) === 1;
    };

    await admin.exec('SELECT pg_advisory_lock($1)', [gate]);
    const runId = `remote-killed-${randomUUID().slice(0, 8)}`;
    child = startChild({ ...s.env, PG_URL: server.url, REDIS_URL, QUEUE: queue, RUN_ID: runId, PLAN: JSON.stringify(plan), LEASE_MS: String(LEASE_MS) }, coordinator);
    await child.waitFor(/^started$/);
    const probe = s.open();
    try {
      const ready = await eventually(async () => (await bWaiting()) && (await probe.list(Date.now())).some((r) => r.runId === storedRunKey(runId, alice.id) && r.stored === 1), 20_000, 50);
      expect(ready, `the child stored a and b runs on the worker (it printed: ${child.lines.join(' | ')})`).toBe(true);
    } finally {
      await probe.close();
    }
    await child.kill();
    expect(worker!.child.exitCode).toBeNull();
    // The killed coordinator's job for b finishes on the worker; nobody reads its rows.
    await admin.exec('SELECT pg_advisory_unlock($1)', [gate]);
    expect(await eventually(async () => (await counts()).b === 1, 10_000)).toBe(true);

    const executor = createExecutor({ sources: { pg: postgresSource({ url: server.url }) }, remote: { connection: REDIS_URL, queue }, cache: false, retry: { attempts: 1 }, runStore: s.open(), runLeaseMs: LEASE_MS });
    executors.push(executor);
    const run = await executor.resume(runId, { principal: alice });
    const cached: string[] = [];
    run.events$.subscribe((e) => {
      if (e.type === 'fragment.cached') cached.push(e.fragmentId);
    });
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(cached).toEqual(['a']);
    expect(await counts()).toEqual({ a: 1, b: 2 });

    const reference = createExecutor({ sources: { pg: postgresSource({ url: server.url }) }, cache: false });
    try {
      const sql = `SELECT c.id, c.name, o.customer_id, o.amount FROM ${customers} c JOIN ${orders} o ON o.customer_id = c.id ORDER BY o.amount`;
      const oracle = await reference.execute({ id: 'oracle', fragments: [{ id: 'all', source: 'pg', query: { sql, params: [] } }] });
      expect(result.columns).toEqual(oracle.columns);
      expect(result.rows).toEqual(oracle.rows);
      expect(result.rows).toHaveLength(3);
    } finally {
      await reference.close();
    }

    // No job is left in the queue (both of b's jobs completed and were removed), nor the run.
    const q = new Queue(queue, { connection: { url: REDIS_URL } });
    try {
      const jobs = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed', 'waiting-children');
      expect(Object.values(jobs).every((n) => n === 0), JSON.stringify(jobs)).toBe(true);
    } finally {
      await q.close();
    }
    await s.empty(executor);
    // Of tributary's keys for the queue, only the unread rows of the killed coordinator's job
    // remain (expiring within resultTtlMs), and the live worker's roster entry (expiring too).
    const client = inspectClient();
    try {
      const left = (await client.keys(`tributary:${queue}:*`)).sort();
      const results = left.filter((k) => k.startsWith(`tributary:${queue}:result:`));
      expect(results.length).toBeGreaterThan(0);
      expect(left.filter((k) => !results.includes(k))).toEqual([`tributary:${queue}:serves:pg`]);
      for (const key of results) {
        const ttl = await client.pttl(key);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(RESULT_TTL_MS);
      }
      expect(await client.pttl(`tributary:${queue}:serves:pg`)).toBeGreaterThan(0);
    } finally {
      client.disconnect();
    }
  }, 60_000);
}

describeRedis('durable runs on BullMQ workers: the coordinator killed mid-run', () => {
  describeWithServer(server, 'Redis run store', () => {
    let prefix: string;
    beforeEach(() => {
      prefix = `${uniqueNamespace()}:runs:`;
    });
    afterEach(() => dropKeys(prefix));
    remoteKillAndResume(() => ({
      env: { STORE_KIND: 'redis', PREFIX: prefix },
      open: () => redisRunStore({ url: REDIS_URL, prefix }),
      empty: async (executor) => {
        expect(await executor.runs({ anyPrincipal: true })).toEqual([]);
        const client = inspectClient();
        try {
          expect(await client.keys(`${prefix}*`)).toEqual([]);
        } finally {
          client.disconnect();
        }
      },
    }));
  });

  describeWithServer(server, 'SQLite run store', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'tributary-remote-kill-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    remoteKillAndResume(() => {
      const file = join(dir, 'runs.db');
      return {
        env: { STORE_KIND: 'sqlite', STORE_FILE: file },
        open: () => sqliteRunStore({ file }),
        empty: async (executor) => expect(await executor.runs({ anyPrincipal: true })).toEqual([]),
      };
    });
  });
});
