import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, mysqlSource, type Executor, type Row } from '../../src/index.js';
import { describeWithServer, eventually, mysqlAdmin, mysqlUrl, requireServer, type Admin } from '../support/servers.js';

const check = await requireServer('mysql');

describeWithServer(check, 'streaming from MariaDB/MySQL in batches with back-pressure', () => {
  let executor: Executor;
  let admin: Admin;

  beforeAll(async () => {
    admin = await mysqlAdmin();
    executor = createExecutor({
      sources: { my: mysqlSource({ url: mysqlUrl(), connectionLimit: 2, streamBatchSize: 500 }) },
      cache: false,
    });
  });

  afterAll(async () => {
    await executor?.close();
    await admin?.close();
  });

  /** Statements containing `tag` that are running right now (other than the admin's). */
  const running = async (tag: string): Promise<number> => {
    const [row] = await admin.exec(
      `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST
        WHERE INFO LIKE ? AND ID <> CONNECTION_ID() AND COMMAND <> 'Sleep'`,
      [`%${tag}%`],
    );
    return Number(row?.n);
  };

  it('streams every row in batches, equal to the materialized result', async () => {
    const plan = { fragments: [{ id: 's', source: 'my', query: { sql: 'SELECT seq AS n FROM seq_1_to_20000 ORDER BY seq' } }] };
    const batches: Row[][] = [];
    for await (const batch of executor.run(plan).rows(10_000)) batches.push(batch);
    expect(batches.length).toBe(40);
    expect(batches.every((b) => b.length === 500)).toBe(true);
    const materialized = await executor.execute(plan);
    expect(materialized.rows).toHaveLength(20_000);
    expect(batches.flat()).toEqual(materialized.rows);
  });

  it('a limit 10 over a streaming query stops it on the server, and the pool answers afterwards', async () => {
    const tag = `stream_${randomBytes(4).toString('hex')}`;
    const run = executor.run({
      fragments: [{ id: 's', source: 'my', query: { sql: `SELECT seq AS n, '${tag}' AS tag FROM seq_1_to_100000000` } }],
      merge: { op: 'limit', n: 10, input: 's' },
    });
    const rows: Row[] = [];
    for await (const batch of run.rows()) rows.push(...batch);
    expect(rows.map((r) => r.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.fragments.s!.rowCount).toBeLessThan(5000);
    expect(await eventually(async () => (await running(tag)) === 0, 2000)).toBe(true);
    const again = await executor.execute({ fragments: [{ id: 'one', source: 'my', query: { sql: 'SELECT 1 AS one' } }] });
    expect(again.rows).toEqual([{ one: 1 }]);
  });

  it('cancelling a streaming run rejects with CANCELLED and stops the statement on the server', async () => {
    const tag = `cancel_${randomBytes(4).toString('hex')}`;
    const run = executor.run({
      fragments: [{ id: 'slow', source: 'my', query: { sql: `SELECT SLEEP(30), '${tag}' AS tag` } }],
    });
    const iterate = (async () => {
      for await (const _ of run.rows()) void _;
    })();
    expect(await eventually(async () => (await running(tag)) === 1, 3000)).toBe(true);
    run.cancel('test');
    await expect(iterate).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await eventually(async () => (await running(tag)) === 0, 2000)).toBe(true);
  });

  it('holds the server back while the consumer waits, and breaking out stops the statement', async () => {
    const source = mysqlSource({ url: mysqlUrl(), connectionLimit: 1, streamBatchSize: 100 });
    try {
      for (let round = 0; round < 3; round++) {
        // connectionLimit 1: a connection leaked by an earlier round would hang this one
        const tag = `pause_${randomBytes(4).toString('hex')}`;
        const sql = `SELECT seq AS n, REPEAT('x', 200) AS pad, '${tag}' AS tag FROM seq_1_to_100000000`;
        const rows = source.execute({ sql }, { params: [], signal: new AbortController().signal, stream: true });
        let seen = 0;
        for await (const batch of rows) {
          expect(batch).toHaveLength(100);
          expect(batch[0]!.n).toBe(seen + 1);
          seen += batch.length;
          if (seen === 100) {
            await new Promise((resolve) => setTimeout(resolve, 300));
            // paused: the statement is still there, blocked on its writes
            expect(await running(tag)).toBe(1);
          }
          if (seen >= 300) break;
        }
        expect(await eventually(async () => (await running(tag)) === 0, 2000)).toBe(true);
      }
      const again = await source.execute({ sql: 'SELECT 1 AS one' }, { params: [], signal: new AbortController().signal });
      expect(again).toEqual([{ one: 1 }]);
    } finally {
      await source.close();
    }
  });

  it('enforces maxRows while streaming (LIMIT_EXCEEDED) and stops the statement', async () => {
    const source = mysqlSource({ url: mysqlUrl(), connectionLimit: 1, streamBatchSize: 100, maxRows: 250 });
    const tag = `bound_${randomBytes(4).toString('hex')}`;
    try {
      const rows = source.execute(
        { sql: `SELECT seq AS n, '${tag}' AS tag FROM seq_1_to_100000000` },
        { params: [], signal: new AbortController().signal, stream: true },
      );
      const drain = async (): Promise<number> => {
        let seen = 0;
        for await (const batch of rows) seen += batch.length;
        return seen;
      };
      await expect(drain()).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
      expect(await eventually(async () => (await running(tag)) === 0, 2000)).toBe(true);
    } finally {
      await source.close();
    }
  });
});
