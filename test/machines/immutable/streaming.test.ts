import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, from, memorySource, postgresSource, type Executor, type Plan, type Row } from '../../../src/index.js';
import { snapshotAudit, type SnapshotAudit } from '../../support/snapshot-audit.js';
import { describeWithServer, pgAdmin, pgUrl, requireServer, scratchTables, type Admin } from '../../support/servers.js';

const pgCheck = await requireServer('postgres');

/**
 * Issue 12 under streaming: `run.rows()` (a streamed union, a streamed limit that stops what
 * it no longer needs, a bind join feeding the stream) on a real PostgreSQL. Every snapshot and
 * event kept on arrival is unchanged after the run; the inspector's stream is consistent.
 */
describeWithServer(pgCheck, 'immutable snapshots: streamed runs', () => {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let items: string;
  let audit: SnapshotAudit;
  let executor: Executor;

  beforeAll(async () => {
    admin = await pgAdmin();
    tables = scratchTables(admin);
    items = tables.name('imm_stream');
    await admin.exec(`CREATE TABLE ${items} (id int PRIMARY KEY, k int NOT NULL, name text NOT NULL)`);
    await admin.exec(`INSERT INTO ${items} SELECT g, g % 5, 'n' || g FROM generate_series(1, 300) g`);
    audit = snapshotAudit();
    executor = createExecutor({
      sources: { mem: memorySource({ tables: { keys: [{ k: 1 }, { k: 3 }] } }), pg: postgresSource({ url: pgUrl() }) },
      cache: false,
      inspect: audit.inspect,
    });
  });
  afterAll(async () => {
    await executor?.close();
    await tables?.dropAll();
  });

  async function streamed(plan: Plan, batchSize: number): Promise<{ rows: Row[]; outcome: Awaited<ReturnType<typeof executor.execute>> }> {
    const run = audit.watch(executor.run(plan));
    const rows: Row[] = [];
    for await (const batch of run.rows(batchSize)) rows.push(...batch);
    const outcome = await run.result;
    expect(audit.problems(run, outcome, ['mem', 'pg'])).toEqual([]);
    expect(audit.kept(run).snapshots).toBeGreaterThan(4);
    expect(audit.kept(run).children.sort()).toEqual(['mem', 'pg']);
    return { rows, outcome };
  }

  it('a streamed union of a bind join and a plain fragment', async () => {
    const { rows, outcome } = await streamed(
      {
        id: 'imm-stream-union',
        fragments: [
          { id: 'keys', source: 'mem', query: { table: 'keys' } },
          { id: 'bound', source: 'pg', dependsOn: ['keys'], query: { sql: `SELECT id, name FROM ${items} WHERE k = ANY($1) ORDER BY id`, params: [from('keys', 'k')] } },
          { id: 'low', source: 'pg', query: { sql: `SELECT id, name FROM ${items} WHERE id <= $1 ORDER BY id`, params: [40] } },
        ],
        merge: { op: 'union', inputs: ['bound', 'low'] },
      },
      7,
    );
    expect(outcome.status).toBe('ok');
    const oracle = await admin.exec(`(SELECT id, name FROM ${items} WHERE k IN (1, 3)) UNION ALL (SELECT id, name FROM ${items} WHERE id <= 40)`);
    const key = (r: Row) => `${String(r.id)}:${String(r.name)}`;
    expect(rows.map(key).sort()).toEqual(oracle.map(key).sort());
  });

  it('a streamed limit that stops the fragments it no longer needs', async () => {
    const { rows, outcome } = await streamed(
      {
        id: 'imm-stream-limit',
        fragments: [
          { id: 'first', source: 'pg', query: { sql: `SELECT id FROM ${items} WHERE id <= 20 ORDER BY id`, params: [] } },
          { id: 'slow', source: 'pg', query: { sql: `SELECT id FROM ${items}, pg_sleep(5) WHERE id > 280`, params: [] } },
          { id: 'mem', source: 'mem', query: { table: 'keys' } },
        ],
        merge: { op: 'limit', n: 5, input: { op: 'union', inputs: ['first', 'slow'] } },
      },
      2,
    );
    expect(outcome.status).toBe('ok');
    expect(rows).toHaveLength(5);
    expect(outcome.completeness.fragments.slow).toMatchObject({ reason: 'limit-stopped' });
  });

  it('a reader that leaves mid-stream: what still runs stops on the server, the run ends with what it has', async () => {
    const run = audit.watch(
      executor.run({
        id: 'imm-stream-left',
        fragments: [
          { id: 'first', source: 'pg', query: { sql: `SELECT id FROM ${items} ORDER BY id`, params: [] } },
          { id: 'slow', source: 'pg', query: { sql: `SELECT id FROM ${items}, pg_sleep(5) WHERE id > 290`, params: [] } },
          { id: 'keys', source: 'mem', query: { table: 'keys' } },
        ],
        merge: { op: 'union', inputs: ['first', 'slow', 'keys'] },
      }),
    );
    const rows: Row[] = [];
    for await (const batch of run.rows(10)) {
      rows.push(...batch);
      if (rows.length >= 10) break;
    }
    const outcome = await run.result;
    expect(outcome.completeness.fragments.slow).toMatchObject({ reason: 'consumer-left' });
    expect(audit.problems(run, outcome, ['mem', 'pg'])).toEqual([]);
  });
});
