import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, memorySource, mysqlSource, postgresSource, type Executor, type Plan, type Row, type SourceExecutor } from '../../src/index.js';
import { describeWithServer, requireServer } from '../support/servers.js';

/**
 * Under `errorPolicy: "partial"`, a streamed fragment that fails after some of its batches
 * went out leaves those rows in what `run.rows()` gave, where the eager merge treats it as an
 * empty input. The result says so, and its two reports agree: `completeness.fragments[id]`
 * carries `rowsStreamed`, the count `result.fragments[id].rowCount` has. Before, the
 * completeness entry looked the same as for a fragment that had handed on nothing.
 */

const [postgres, mysql] = await Promise.all([requireServer('postgres'), requireServer('mysql')]);

const cases = [
  {
    server: postgres,
    source: (): SourceExecutor => postgresSource({ url: postgres.url, max: 2, streamBatchSize: 2 }),
    // Division by zero at row 3, after the first batch of two.
    failing: 'SELECT n AS id, 1 / (3 - n) AS q FROM generate_series(1, 5) AS n',
  },
  {
    server: mysql,
    source: (): SourceExecutor => mysqlSource({ url: mysql.url, connectionLimit: 2, streamBatchSize: 2 }),
    // From row 5000 on, the subquery returns two rows (error 1242): the rows before it were sent.
    failing: 'SELECT seq AS id, (SELECT 1 UNION SELECT seq < 5000) AS q FROM seq_1_to_10000',
  },
];

for (const c of cases) {
  describeWithServer(c.server, `a streamed fragment that fails under partial over ${c.server.kind}`, () => {
    let executor: Executor;
    beforeAll(() => {
      executor = createExecutor({ sources: { db: c.source(), mem: memorySource({ tables: { t: [{ id: 0 }] } }) }, cache: false });
    });
    afterAll(() => executor?.close());

    const plan: Plan = {
      errorPolicy: 'partial',
      fragments: [
        { id: 'm', source: 'mem', query: { table: 't' } },
        { id: 'bad', source: 'db', query: { sql: c.failing } },
      ],
      merge: { op: 'union', inputs: ['m', 'bad'] },
    };

    it('names the rows it had streamed in its completeness entry, as its rowCount does', async () => {
      const run = executor.run(plan);
      const rows: Row[] = [];
      for await (const batch of run.rows()) rows.push(...batch);
      const result = await run.result;
      expect(result.status).toBe('partial');
      expect(result.errors).toHaveLength(1);
      const fromBad = rows.filter((r) => Number(r.id) > 0);
      expect(fromBad.length).toBeGreaterThan(0);
      expect(result.fragments.bad).toMatchObject({ status: 'failed', rowCount: fromBad.length });
      expect(result.completeness).toEqual({
        complete: false,
        fragments: { bad: expect.objectContaining({ status: 'failed', reason: 'failed', rowsMayBeMissing: true, rowsStreamed: fromBad.length }) },
      });
    });

    it('names none merged whole, where the failed fragment is an empty input', async () => {
      const result = await executor.run(plan).result;
      expect(result.status).toBe('partial');
      expect(result.rows).toEqual([{ id: 0 }]);
      expect(result.fragments.bad).toMatchObject({ status: 'failed', rowCount: 0 });
      expect(result.completeness.fragments.bad).not.toHaveProperty('rowsStreamed');
    });
  });
}
