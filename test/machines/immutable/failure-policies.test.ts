import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, from, memorySource, postgresSource, type Executor } from '../../../src/index.js';
import { snapshotAudit, type SnapshotAudit } from '../../support/snapshot-audit.js';
import { describeWithServer, pgAdmin, pgUrl, requireServer, scratchTables, type Admin } from '../../support/servers.js';

const pgCheck = await requireServer('postgres');

/**
 * Issue 12 when fragments fail, on a real PostgreSQL: under `partial` (a failure skips what
 * depends on it, the rest is merged) and under `fail-fast` (a failure stops the run and
 * aborts its siblings on the server). Every snapshot and event kept on arrival is unchanged
 * after the run; the last snapshot is `failed` or `done` with the counts the result reports.
 */
describeWithServer(pgCheck, 'immutable snapshots: partial results and fail-fast', () => {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let t: string;
  let audit: SnapshotAudit;
  let executor: Executor;

  beforeAll(async () => {
    admin = await pgAdmin();
    tables = scratchTables(admin);
    t = tables.name('imm_fail');
    await admin.exec(`CREATE TABLE ${t} (id int PRIMARY KEY, n int NOT NULL)`);
    await admin.exec(`INSERT INTO ${t} SELECT g, g % 3 FROM generate_series(1, 30) g`);
    audit = snapshotAudit();
    executor = createExecutor({
      sources: { mem: memorySource({ tables: { keys: [{ n: 0 }, { n: 2 }] } }), pg: postgresSource({ url: pgUrl() }) },
      cache: false,
      retry: { attempts: 1 },
      inspect: audit.inspect,
    });
  });
  afterAll(async () => {
    await executor?.close();
    await tables?.dropAll();
  });

  const fragments = () => [
    { id: 'keys', source: 'mem', query: { table: 'keys' } },
    { id: 'rows', source: 'pg', dependsOn: ['keys'], query: { sql: `SELECT id FROM ${t} WHERE n = ANY($1) ORDER BY id`, params: [from('keys', 'n')] } },
    // Fails on the server: division by zero, not retryable.
    { id: 'broken', source: 'pg', dependsOn: ['keys'], query: { sql: `SELECT 1 / (count(*) - count(*)) AS x FROM ${t}`, params: [] } },
    { id: 'after', source: 'mem', dependsOn: ['broken'], query: { table: 'keys' } },
  ];

  it('partial: the failure skips what depends on it, the rest is merged', async () => {
    const run = audit.watch(executor.run({ id: 'imm-partial', errorPolicy: 'partial', fragments: fragments(), merge: { op: 'union', inputs: ['rows', 'after'] } }));
    const result = await run.result;
    expect(result.status).toBe('partial');
    expect(result.fragments.broken!.status).toBe('failed');
    expect(result.fragments.after!.status).toBe('skipped');
    const oracle = await admin.exec(`SELECT id FROM ${t} WHERE n IN (0, 2) ORDER BY id`);
    expect(result.rows).toEqual(oracle);
    expect(audit.problems(run, result, ['mem', 'pg'])).toEqual([]);
  });

  it('fail-fast: the failure stops the run and aborts a sibling running on the server', async () => {
    const list = fragments();
    list.push({ id: 'sleeper', source: 'pg', dependsOn: ['keys'], query: { sql: 'SELECT 1 AS one FROM pg_sleep(30)', params: [] } });
    const run = audit.watch(executor.run({ id: 'imm-failfast', errorPolicy: 'fail-fast', fragments: list, merge: { op: 'union', inputs: ['rows', 'after', 'sleeper'] } }));
    const result = await run.result;
    expect(result.status).toBe('failed');
    expect(result.fragments.broken!.status).toBe('failed');
    expect(result.fragments.sleeper!.status).toBe('cancelled');
    expect(run.actor.getSnapshot().context.failure).toMatchObject({ fragmentId: 'broken' });
    expect(audit.problems(run, result, ['mem', 'pg'])).toEqual([]);
  });
});
