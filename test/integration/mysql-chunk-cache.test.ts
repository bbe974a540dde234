import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, from, mysqlSource, postgresSource, type Executor, type Plan } from '../../src/index.js';
import { describeWithServer, mysqlAdmin, mysqlUrl, pgUrl, requireServer, scratchTables, type Admin } from '../support/servers.js';

/**
 * A chunk of a batched bound list on MariaDB is typed as its whole list (mysql/exact-params.ts):
 * the same chunk goes as number literals when its list holds a number, as text when the list is
 * decimal strings only. Two such runs ask different questions; with the cache on, the second
 * must not be served the first's rows. A fragment's key hashes all its calls (cache/key.ts), so
 * it holds the whole list, and with it how each chunk goes; a key per call would not.
 */

const pgCheck = await requireServer('postgres');
const myCheck = await requireServer('mysql');

describeWithServer(pgCheck.skipReason ? pgCheck : myCheck, 'a batched chunk typed by its list, with the cache on', () => {
  let my: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let codes: string;
  let executor: Executor;

  beforeAll(async () => {
    my = await mysqlAdmin();
    tables = scratchTables(my);
    codes = tables.name('codes');
    await my.exec(`CREATE TABLE ${codes} (code VARCHAR(30))`);
    // Compared with a number, '09007199254740993' matches 9007199254740993; as text it does not.
    await my.exec(`INSERT INTO ${codes} VALUES ('7'), ('9007199254740993'), ('09007199254740993')`);
    executor = createExecutor({ sources: { pg: postgresSource({ url: pgUrl() }), my: mysqlSource({ url: mysqlUrl() }) } });
  });

  afterAll(async () => {
    await executor?.close();
    await tables?.dropAll();
  });

  const plan = (upstream: string, list: readonly string[]): Plan => ({
    fragments: [
      { id: 'up', source: 'pg', query: { sql: `SELECT unnest($1::text[])${upstream} AS k`, params: [list] } },
      { id: 'dn', source: 'my', dependsOn: ['up'], batch: { param: 0, size: 1 }, query: { sql: `SELECT code FROM ${codes} WHERE code IN (?)`, params: [from('up', 'k')] } },
    ],
    merge: { op: 'sort', by: [{ column: 'code' }], input: 'dn' },
  });

  it('serves each run the rows of its own typing', async () => {
    const oracle = async (literals: string): Promise<unknown[]> => (await my.exec(`SELECT code FROM ${codes} WHERE code IN (${literals}) ORDER BY code`)).map((r) => r.code);
    // A BIGINT $from: 7 a number, the other a decimal string; its chunks go as numbers.
    const numeric = await executor.execute(plan('::bigint', ['7', '9007199254740993']));
    expect(numeric.rows.map((r) => r.code)).toEqual(await oracle('7, 9007199254740993'));
    // A text $from of the same codes: decimal strings only, its chunks go as text.
    const text = await executor.execute(plan('', ['9007199254740993']));
    expect(text.rows.map((r) => r.code)).toEqual(await oracle("'9007199254740993'"));
    const text2 = await executor.execute(plan('', ['7', '9007199254740993']));
    expect(text2.rows.map((r) => r.code)).toEqual(await oracle("'7', '9007199254740993'"));
    // The cache serves a run that asks the same: both fragments of the first plan again.
    const hits = executor.cache.stats().hits;
    const again = await executor.execute(plan('::bigint', ['7', '9007199254740993']));
    expect(again.rows).toEqual(numeric.rows);
    expect(executor.cache.stats().hits).toBe(hits + 2);
  });
});
