import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, memorySource, postgresSource, type ExecutorOptions } from '../../src/index.js';
import { describeWithServer, eventually, pgAdmin, pgUrl, requireServer, type Admin } from '../support/servers.js';

/**
 * A batched bind join that is not streamed counts each batch's rows as its call answers —
 * against the query's `maxRowsPerQuery` and the fragment's bounds over its batches — so the
 * batch that passes one fails the fragment at once and the batches still running are
 * stopped on the server. Before, nothing was counted until every batch had finished: here a
 * batch that sleeps 30 s would have held the fragment until its attempt timed out.
 */
const pg = await requireServer('postgres');

describeWithServer(pg, 'a batched bind join counts each batch as it answers (PostgreSQL)', () => {
  let admin: Admin;
  beforeAll(async () => {
    admin = await pgAdmin();
  });
  afterAll(() => admin.close());

  /** Ids 1 and 3 answer 100 rows at once; id 2 sleeps 30 s first. One batch per id. */
  const planFor = (tag: string, limits?: { maxRows: number }) => ({
    ...(limits ? { limits } : {}),
    fragments: [
      { id: 'ids', source: 'mem', query: { table: 'ids' } },
      {
        id: 'rows',
        source: 'pg',
        dependsOn: ['ids'],
        batch: { param: 0, size: 1 },
        query: {
          sql: `SELECT g AS n FROM generate_series(1, 100) AS g WHERE CASE WHEN 2 = ANY($1::int[]) THEN pg_sleep(30) IS NOT NULL ELSE true END /* ${tag} */`,
          params: [{ $from: 'ids', column: 'id' }],
        },
      },
    ],
    merge: 'rows',
  });

  const running = async (tag: string): Promise<number> =>
    (await admin.exec(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1 AND state <> 'idle' AND pid <> pg_backend_pid()`, [`%${tag}%`]))[0]!.n as number;

  const runWith = async (options: Partial<ExecutorOptions>, tag: string, limits?: { maxRows: number }) => {
    const e = createExecutor({
      sources: { mem: memorySource({ tables: { ids: [{ id: 1 }, { id: 2 }, { id: 3 }] } }), pg: postgresSource({ url: pgUrl(), max: 4 }) },
      cache: false,
      retry: { attempts: 1 },
      timeoutMs: 20_000,
      ...options,
    });
    try {
      return await e.execute(planFor(tag, limits));
    } finally {
      await e.close();
    }
  };

  it('maxRowsPerQuery: the batch that passes the quota fails the fragment at once; the sleeping batch is stopped on the server', async () => {
    const tag = `quota_batch_${process.pid}_${Date.now()}`;
    const result = await runWith({ quotas: { maxRowsPerQuery: 50 } }, tag);
    expect(result.status).toBe('failed');
    expect(result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'rows', message: expect.stringContaining('the query fetched more than 50 rows (at fragment "rows")') })]);
    expect(result.errors[0]!.issues).toEqual([expect.objectContaining({ path: 'quotas.maxRowsPerQuery' })]);
    expect(await eventually(async () => (await running(tag)) === 0, 5000)).toBe(true);
  });

  it("the fragment's maxRows over its batches: passed by the second fast batch, the sleeping one stopped", async () => {
    const tag = `rows_batch_${process.pid}_${Date.now()}`;
    const result = await runWith({}, tag, { maxRows: 150 });
    expect(result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'rows', message: expect.stringContaining('200 rows over its batches, more than maxRows=150') })]);
    expect(result.errors[0]!.issues).toEqual([expect.objectContaining({ path: 'fragments.rows' })]);
    expect(await eventually(async () => (await running(tag)) === 0, 5000)).toBe(true);
  });
});
