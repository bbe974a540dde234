import { createExecutor, from, memorySource, plan, postgresSource, type Executor, type Plan } from '../../src/index.js';
import { eventually, pgAdmin, pgUrl, uniqueName, type Admin } from './servers.js';

/**
 * A batched bind join on a real PostgreSQL whose two batches part ways: the batch holding key
 * 1 waits on the server for an advisory lock (the gate, held by the test with `hold()`), the
 * one holding key 3 fails with a retryable 40001 and waits out a one-minute backoff. What a
 * watcher (the CLI bar, the live page) shows while one batch retries and another still runs.
 */
export interface GatedBatches {
  readonly admin: Admin;
  readonly executor: Executor;
  /** The server function's name, also the plan's id. */
  readonly fn: string;
  /** keys (memory) → rows (PostgreSQL, batches of 2 keys). */
  readonly plan: Plan;
  /** Takes the gate: the batch holding key 1 blocks on it. */
  hold(): Promise<void>;
  /** Releases the gate (batch 0 answers). */
  release(): Promise<void>;
  /** Whether batch 0's statement is blocked on the gate on the server (polled up to 10 s). */
  blocked(): Promise<boolean>;
  close(): Promise<void>;
}

export async function openGatedBatches(prefix: string): Promise<GatedBatches> {
  const admin = await pgAdmin();
  const fn = uniqueName(prefix);
  const gate = Math.floor(Math.random() * 2 ** 31);
  await admin.exec(`CREATE FUNCTION ${fn}(keys int[]) RETURNS TABLE(id int) LANGUAGE plpgsql AS $$
    BEGIN
      IF 1 = ANY(keys) THEN PERFORM pg_advisory_xact_lock_shared(${gate}); END IF;
      IF 3 = ANY(keys) THEN RAISE EXCEPTION 'try again' USING ERRCODE = '40001'; END IF;
      RETURN QUERY SELECT unnest(keys);
    END $$`);
  const executor = createExecutor({
    sources: { keys: memorySource({ tables: { keys: [1, 2, 3, 4].map((k) => ({ k })) } }), pg: postgresSource({ url: pgUrl() }) },
    cache: false,
    // A long backoff: the failed batch waits while the other still runs.
    retry: { attempts: 2, initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: 'none' },
  });
  const p = plan(fn)
    .fragment('keys', 'keys', { table: 'keys' })
    .fragment('rows', 'pg', { sql: `SELECT id FROM ${fn}($1)`, params: [from('keys', 'k')] }, { dependsOn: ['keys'], batch: { param: 0, size: 2 } })
    .build();
  const waiting = async (): Promise<boolean> =>
    (await admin.exec(`SELECT 1 FROM pg_stat_activity WHERE query LIKE $1 AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`, [`%${fn}%`])).length === 1;
  return {
    admin,
    executor,
    fn,
    plan: p,
    hold: async () => void (await admin.exec('SELECT pg_advisory_lock($1::bigint)', [gate])),
    release: async () => void (await admin.exec('SELECT pg_advisory_unlock_all()')),
    blocked: () => eventually(waiting, 10_000, 20),
    close: async () => {
      await executor.close();
      await admin.exec(`DROP FUNCTION IF EXISTS ${fn}(int[])`);
      await admin.close();
    },
  };
}
