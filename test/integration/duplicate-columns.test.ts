import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, mysqlSource, postgresSource, sqliteSource, type Executor, type Plan, type Row } from '../../src/index.js';
import { describeWithServer, requireServer } from '../support/servers.js';

/**
 * A name repeated in one SELECT (`SELECT o.id, c.id …`, `SELECT *` over a join). Every
 * driver builds a row object, so the name holds its last column's value; the result's
 * columns name each column of the rows once, so a header (CSV, a table) never shows the
 * last value under the first column's heading too.
 */

const [postgres, mysql] = await Promise.all([requireServer('postgres'), requireServer('mysql')]);

describeWithServer(postgres, 'a column name repeated in one SELECT', () => {
  let executor: Executor;
  const dir = mkdtempSync(join(tmpdir(), 'tributary-dupcols-'));
  beforeAll(() => {
    executor = createExecutor({
      sources: {
        pg: postgresSource({ url: postgres.url }),
        ...(mysql.skipReason === undefined ? { my: mysqlSource({ url: mysql.url }) } : {}),
        sq: sqliteSource({ file: join(dir, 'db.sqlite') }),
      },
      cache: false,
    });
  });
  afterAll(async () => {
    await executor.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const plan = (source: string, where: string): Plan => ({
    id: 'dup',
    fragments: [{ id: 'f', source, query: { sql: `SELECT 1 AS a, 2 AS a, 3 AS b ${where}` } }],
  });

  async function streamed(p: Plan): Promise<{ rows: Row[]; columns: readonly string[] }> {
    const run = executor.run(p);
    const rows: Row[] = [];
    for await (const batch of run.rows()) rows.push(...batch);
    return { rows, columns: (await run.result).columns };
  }

  it('names each column of the rows once, whole and streamed, with rows or none', async () => {
    const sources = ['pg', 'sq', ...(mysql.skipReason === undefined ? ['my'] : [])];
    for (const source of sources) {
      const some = plan(source, '');
      const none = plan(source, source === 'my' ? 'FROM DUAL WHERE 1 = 0' : 'WHERE 1 = 0');
      const whole = await executor.execute(some);
      expect({ source, rows: whole.rows, columns: whole.columns }).toEqual({ source, rows: [{ a: 2, b: 3 }], columns: ['a', 'b'] });
      expect({ source, ...(await streamed(some)) }).toEqual({ source, rows: [{ a: 2, b: 3 }], columns: ['a', 'b'] });
      expect({ source, columns: (await executor.execute(none)).columns }).toEqual({ source, columns: ['a', 'b'] });
      expect({ source, columns: (await streamed(none)).columns }).toEqual({ source, columns: ['a', 'b'] });
    }
  });
});
