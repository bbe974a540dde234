import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, memorySource, mysqlSource, postgresSource, sqliteSource, type Executor } from '../../src/index.js';
import { describeWithServer, mysqlUrl, pgUrl, requireServer } from '../support/servers.js';

/**
 * A bind join whose upstream has no values binds an empty list, and the query runs with it,
 * as SQL runs `x IN (SELECT … WHERE false)`: `IN` keeps no row, `NOT IN` keeps every row (a
 * null too: there is nothing to compare it with), and the source still names its columns,
 * so a join over the fragment has the same columns as when the list had values. Each SQL
 * source runs its own spelling of a bound list; no table is needed (inline VALUES).
 */

const pgCheck = await requireServer('postgres');
const myCheck = await requireServer('mysql');

type Kind = 'pg' | 'my' | 'lite' | 'mem';
const ROWS = `SELECT 1 AS id, 10 AS v UNION ALL SELECT 2, 20 UNION ALL SELECT NULL, 30`;
/** `SELECT id, v FROM (1, 10), (2, 20), (null, 30)` where id is [not] in the bound list. */
function query(kind: Kind, not: boolean): unknown {
  const list = { $from: 'keys', column: 'k' };
  if (kind === 'mem') return { table: 'rows', columns: ['id', 'v'], where: not ? { not: { in: ['id', list] } } : { in: ['id', list] } };
  const test = { pg: `${not ? 'NOT ' : ''}(id = ANY($1::int[]))`, my: `id ${not ? 'NOT ' : ''}IN (?)`, lite: `id ${not ? 'NOT ' : ''}IN (SELECT value FROM json_each(?))` }[kind];
  return { sql: `SELECT id, v FROM (${ROWS}) t WHERE ${test}`, params: [list] };
}

describeWithServer(pgCheck.skipReason ? pgCheck : myCheck, 'a bind join over an empty upstream list', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-empty-list-'));
  let executor: Executor;
  beforeAll(() => {
    executor = createExecutor({
      cache: false,
      sources: {
        pg: postgresSource({ url: pgUrl() }),
        my: mysqlSource({ url: mysqlUrl() }),
        lite: sqliteSource({ file: join(dir, 'empty.db') }),
        mem: memorySource({ tables: { keys: [{ k: null }, { k: null }], some: [{ k: 1 }], all: [{ id: 1 }, { id: 2 }], rows: [{ id: 1, v: 10 }, { id: 2, v: 20 }, { id: null, v: 30 }] } }),
      },
    });
  });
  afterAll(async () => {
    await executor?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const plan = (kind: Kind, not: boolean, keys = 'keys', batch = false) => ({
    fragments: [
      { id: 'keys', source: 'mem', query: { table: keys } },
      { id: 'f', source: kind, dependsOn: ['keys'], query: query(kind, not), ...(batch ? { batch: { param: 0, size: 2 } } : {}) },
      { id: 'all', source: 'mem', query: { table: 'all' } },
    ],
    merge: { op: 'sort', by: [{ column: 'v' }], input: 'f' } as unknown,
  });

  it.each(['pg', 'my', 'lite', 'mem'] as const)('%s: NOT IN an empty list keeps every row, null ids too; IN keeps none (batched or not)', async (kind) => {
    for (const batch of [false, true]) {
      const notIn = await executor.execute(plan(kind, true, 'keys', batch));
      expect(notIn.errors).toEqual([]);
      expect(notIn.rows.map((r) => [r.id, r.v])).toEqual([[1, 10], [2, 20], [null, 30]]);
      expect(notIn.fragments.f).toMatchObject({ calls: 1 });
      const isIn = await executor.execute(plan(kind, false, 'keys', batch));
      expect(isIn.rows).toEqual([]);
      expect(isIn.columns).toEqual(['id', 'v']);
    }
  });

  it.each(['pg', 'my', 'lite', 'mem'] as const)('%s: a left join to the fragment has its columns as a run with values does', async (kind) => {
    const over = (keys: string) => ({ ...plan(kind, false, keys), merge: { op: 'join', type: 'left', left: 'all', right: 'f', on: [['id', 'id']] } });
    const withValues = await executor.execute(over('some'));
    const empty = await executor.execute(over('keys'));
    expect(withValues.columns).toEqual(['id', 'f.id', 'v']);
    expect(empty.columns).toEqual(withValues.columns);
    expect(empty.rows).toEqual([{ id: 1, 'f.id': null, v: null }, { id: 2, 'f.id': null, v: null }]);
    // A project of the right side's columns reads them (nulls), not a missing column.
    const projected = await executor.execute({ ...over('keys'), merge: { op: 'project', input: over('keys').merge, columns: ['id', 'v'] } });
    expect(projected.rows).toEqual([{ id: 1, v: null }, { id: 2, v: null }]);
  });
});
