import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, postgresSource, type Executor } from '../../../src/index.js';
import { flakyBatch, type FlakyBatch } from '../../support/flaky-batch.js';
import { snapshotAudit, type SnapshotAudit } from '../../support/snapshot-audit.js';
import { describeWithServer, pgAdmin, pgUrl, requireServer, type Admin } from '../../support/servers.js';

const pgCheck = await requireServer('postgres');

/**
 * Issue 12 under a batched bind join whose one batch fails once with a retryable error
 * (40001) and is retried, on a real PostgreSQL: every snapshot and event kept on arrival is
 * unchanged after the run, the inspector's stream is consistent, and the last snapshot counts
 * what the result reports.
 */
describeWithServer(pgCheck, 'immutable snapshots: a batched bind join with a retried batch', () => {
  let pg: Admin;
  let flaky: FlakyBatch;
  let audit: SnapshotAudit;
  let executor: Executor;

  beforeAll(async () => {
    pg = await pgAdmin();
    flaky = await flakyBatch(pg, 'immbatch');
    audit = snapshotAudit();
    executor = createExecutor({
      sources: { keys: flaky.keys, pg: postgresSource({ url: pgUrl() }) },
      cache: false,
      retry: { attempts: 3, initialDelayMs: 1, jitter: 'none' },
      inspect: audit.inspect,
    });
  });
  afterAll(async () => {
    await executor?.close();
    await flaky?.drop();
    await pg?.close();
  });

  it('keeps every snapshot as it was emitted', async () => {
    const run = audit.watch(executor.run(flaky.plan()));
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.stats.retries).toBe(1);
    expect(result.fragments.rows).toMatchObject({ status: 'succeeded', calls: 3, attempts: 2 });
    // The oracle: the same rows as one statement would give.
    expect(result.rows).toEqual([1, 2, 3, 4].map((id) => ({ id })));
    expect(audit.problems(run, result, ['keys', 'pg'])).toEqual([]);
    expect(audit.kept(run).children.sort()).toEqual(['keys', 'pg']);
  });
});
