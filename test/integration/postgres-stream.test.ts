import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, postgresSource, type Executor, type Row } from '../../src/index.js';
import { describeWithServer, eventually, pgAdmin, pgUrl, requireServer, type Admin } from '../support/servers.js';

const check = await requireServer('postgres');

describeWithServer(check, 'streaming from PostgreSQL through a cursor', () => {
  let executor: Executor;
  let admin: Admin;

  beforeAll(async () => {
    admin = await pgAdmin();
    executor = createExecutor({ sources: { pg: postgresSource({ url: pgUrl(), max: 2, streamBatchSize: 500 }) }, cache: false });
  });

  afterAll(async () => {
    await executor?.close();
    await admin?.close();
  });

  const running = async (tag: string): Promise<number> =>
    (await admin.exec(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1 AND state = 'active' AND pid <> pg_backend_pid()`, [`%${tag}%`]))[0]!.n as number;

  it('streams every row in cursor-sized batches, equal to the materialized result', async () => {
    const plan = { fragments: [{ id: 'g', source: 'pg', query: { sql: 'SELECT g AS n FROM generate_series(1, 20000) g ORDER BY g' } }] };
    const batches: Row[][] = [];
    for await (const batch of executor.run(plan).rows(10_000)) batches.push(batch);
    expect(batches.length).toBe(40);
    expect(batches.every((b) => b.length === 500)).toBe(true);
    const materialized = await executor.execute(plan);
    expect(batches.flat()).toEqual(materialized.rows);
  });

  it('a limit 10 over a streaming cursor stops the query on the server, and the pool answers afterwards', async () => {
    const tag = `stream_${randomBytes(4).toString('hex')}`;
    const run = executor.run({
      fragments: [{ id: 'g', source: 'pg', query: { sql: `SELECT generate_series(1, 50000000) AS n, '${tag}' AS tag` } }],
      merge: { op: 'limit', n: 10, input: 'g' },
    });
    const rows: Row[] = [];
    for await (const batch of run.rows()) rows.push(...batch);
    expect(rows.map((r) => r.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.fragments.g!.rowCount).toBeLessThan(5000);
    expect(await eventually(async () => (await running(tag)) === 0, 2000)).toBe(true);
    const again = await executor.execute({ fragments: [{ id: 'one', source: 'pg', query: { sql: 'SELECT 1 AS one' } }] });
    expect(again.rows).toEqual([{ one: 1 }]);
  });

  it('cancelling a streaming run stops the cursor on the server', async () => {
    const tag = `cancel_${randomBytes(4).toString('hex')}`;
    const run = executor.run({
      fragments: [{ id: 'slow', source: 'pg', query: { sql: `SELECT pg_sleep(30), '${tag}' AS tag` } }],
    });
    const iterate = (async () => {
      for await (const _ of run.rows()) void _;
    })();
    expect(await eventually(async () => (await running(tag)) === 1, 3000)).toBe(true);
    run.cancel('test');
    await expect(iterate).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await eventually(async () => (await running(tag)) === 0, 2000)).toBe(true);
  });
});
