import { afterAll, expect, it } from 'vitest';
import { describeWithServer, pgUrl, requireServer, uniqueName } from '../support/servers.js';
import { runCli, tempDir } from './support.js';

/**
 * A result without columns — PostgreSQL's `SELECT FROM t` (rows of no column), or a partial
 * result whose only fragment failed — prints only its count as a table and nothing as CSV:
 * blank grid lines, or a CSV header naming one column "", described nothing that was there.
 */
const pgCheck = await requireServer('postgres');

describeWithServer(pgCheck, 'tributary run: a result with no columns, on a real PostgreSQL', () => {
  const tmp = tempDir();
  const sources = tmp.file('sources.json', { shop: { kind: 'postgres', url: pgUrl() } });
  afterAll(() => tmp.remove());

  it('rows of no column: the table is their count, the CSV is empty, the JSON their empty objects', async () => {
    const plan = tmp.file('no-columns.json', { fragments: [{ id: 'f', source: 'shop', query: { sql: 'SELECT FROM generate_series(1, 2)' } }] });
    const table = await runCli(['run', plan, '-s', sources, '-q']);
    expect([table.code, table.stdout, table.stderr]).toEqual([0, '(2 rows)\n', '']);
    const csv = await runCli(['run', plan, '-s', sources, '-q', '-f', 'csv']);
    expect([csv.code, csv.stdout, csv.stderr]).toEqual([0, '', '']);
    const json = await runCli(['run', plan, '-s', sources, '-q', '-f', 'json']);
    expect(JSON.parse(json.stdout)).toEqual([{}, {}]);
  }, 90_000);

  it('a partial result whose only fragment failed: `(0 rows)` and an empty CSV, exit 3', async () => {
    // A table no test creates: the statement fails on the server (42P01).
    const plan = tmp.file('failed.json', { fragments: [{ id: 'f', source: 'shop', query: { sql: `SELECT y FROM ${uniqueName('missing')}` } }] });
    const table = await runCli(['run', plan, '-s', sources, '-q', '--partial']);
    expect([table.code, table.stdout]).toEqual([3, '(0 rows)\n']);
    expect(table.stderr).toContain('PostgreSQL error 42P01');
    const csv = await runCli(['run', plan, '-s', sources, '-q', '--partial', '-f', 'csv']);
    expect([csv.code, csv.stdout]).toEqual([3, '']);
  }, 90_000);
});
