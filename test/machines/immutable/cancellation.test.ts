import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, memorySource, postgresSource, type ExecutionEvent, type Executor, type QueryRun } from '../../../src/index.js';
import { snapshotAudit, type SnapshotAudit } from '../../support/snapshot-audit.js';
import { describeWithServer, eventually, pgAdmin, pgUrl, requireServer, uniqueName, type Admin } from '../../support/servers.js';

const pgCheck = await requireServer('postgres');

/**
 * Issue 12 when a run is cancelled mid-run, on a real PostgreSQL: by `run.cancel()` and by
 * the caller's AbortSignal, while one statement sleeps on the server and one fragment has
 * finished. Every snapshot and event kept on arrival is unchanged after the run; the last
 * snapshot is `failed` (CANCELLED) with the counts `events$` reported.
 */
describeWithServer(pgCheck, 'immutable snapshots: cancellation mid-run', () => {
  let admin: Admin;
  let audit: SnapshotAudit;
  let executor: Executor;

  beforeAll(async () => {
    admin = await pgAdmin();
    audit = snapshotAudit();
    executor = createExecutor({
      sources: { mem: memorySource({ tables: { keys: [{ k: 1 }] } }), pg: postgresSource({ url: pgUrl() }) },
      cache: false,
      inspect: audit.inspect,
    });
  });
  afterAll(async () => {
    await executor?.close();
    await admin?.close();
  });

  async function cancelMidRun(stop: (run: QueryRun) => void, signal?: AbortSignal): Promise<void> {
    const marker = uniqueName('imm_cancel');
    const run = audit.watch(
      executor.run(
        {
          id: marker,
          fragments: [
            { id: 'keys', source: 'mem', query: { table: 'keys' } },
            { id: 'sleeper', source: 'pg', query: { sql: `SELECT 1 AS one FROM pg_sleep(30) -- ${marker}`, params: [] } },
            { id: 'after', source: 'mem', dependsOn: ['sleeper'], query: { table: 'keys' } },
          ],
          merge: { op: 'union', inputs: ['keys', 'after'] },
        },
        signal ? { signal } : {},
      ),
    );
    const events: ExecutionEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    const onServer = () => admin.exec(`SELECT 1 FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()`, [`%-- ${marker}%`]).then((r) => r.length === 1);
    expect(await eventually(onServer, 10_000, 20)).toBe(true);
    expect(events.some((e) => e.type === 'fragment.succeeded' && e.fragmentId === 'keys')).toBe(true);
    stop(run);
    const error = await run.result.then(
      () => new Error('the run was not cancelled'),
      (e: unknown) => e as Error,
    );
    expect(error).toMatchObject({ code: 'CANCELLED' });
    // The statement was cancelled on the server.
    expect(await eventually(async () => !(await onServer()), 10_000, 20)).toBe(true);
    expect(run.actor.getSnapshot().context.failure).toMatchObject({ code: 'CANCELLED' });
    expect(audit.problems(run, error, ['mem', 'pg'])).toEqual([]);
  }

  it('run.cancel()', async () => {
    await cancelMidRun((run) => run.cancel('enough'));
  });

  it('the caller’s AbortSignal', async () => {
    const controller = new AbortController();
    await cancelMidRun(() => controller.abort(new Error('the caller left')), controller.signal);
  });
});
