import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, memorySource, postgresSource, type Executor, type QueryRun } from '../../../src/index.js';
import { snapshotAudit, type SnapshotAudit } from '../../support/snapshot-audit.js';
import { describeWithServer, eventually, pgAdmin, pgUrl, requireServer, uniqueName, type Admin } from '../../support/servers.js';

const pgCheck = await requireServer('postgres');

/**
 * Issue 12 when `executor.close()` stops running queries, on a real PostgreSQL: two runs in
 * flight (one with a statement sleeping on the server, one waiting for it under a bind join).
 * Every snapshot and event kept on arrival is unchanged after the close; each run's last
 * snapshot is `failed` (CANCELLED) with the counts `events$` reported.
 */
describeWithServer(pgCheck, 'immutable snapshots: executor.close() mid-run', () => {
  let admin: Admin;
  beforeAll(async () => {
    admin = await pgAdmin();
  });
  afterAll(async () => {
    await admin?.close();
  });

  it('keeps every snapshot of the runs it stops', async () => {
    const audit: SnapshotAudit = snapshotAudit();
    const executor: Executor = createExecutor({
      sources: { mem: memorySource({ tables: { keys: [{ k: 1 }, { k: 2 }] } }), pg: postgresSource({ url: pgUrl() }) },
      cache: false,
      inspect: audit.inspect,
    });
    const marker = uniqueName('imm_close');
    const runs: QueryRun[] = [];
    for (const n of [1, 2]) {
      runs.push(
        audit.watch(
          executor.run({
            id: `${marker}_${n}`,
            fragments: [
              { id: 'keys', source: 'mem', query: { table: 'keys' } },
              { id: 'sleeper', source: 'pg', dependsOn: ['keys'], query: { sql: `SELECT k FROM unnest($1::int[]) k, pg_sleep(30) -- ${marker}`, params: [{ $from: 'keys', column: 'k' }] } },
              { id: 'after', source: 'mem', dependsOn: ['sleeper'], query: { table: 'keys' } },
            ],
            merge: { op: 'union', inputs: ['keys', 'after'] },
          }),
        ),
      );
    }
    const onServer = () => admin.exec(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()`, [`%-- ${marker}%`]).then((r) => Number(r[0]!.n));
    expect(await eventually(async () => (await onServer()) === 2, 10_000, 20)).toBe(true);
    await executor.close();
    for (const run of runs) {
      const error = await run.result.then(() => new Error('not cancelled'), (e: unknown) => e as Error);
      expect(error).toMatchObject({ code: 'CANCELLED' });
      expect(audit.problems(run, error, ['mem', 'pg'])).toEqual([]);
    }
    expect(await eventually(async () => (await onServer()) === 0, 10_000, 20)).toBe(true);
  });
});
