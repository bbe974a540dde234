import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, from, mysqlSource, postgresSource, sqliteRunStore, type Executor, type Plan, type Row, type SourceExecutor } from '../../src/index.js';
import { describeWithServer, eventually, mysqlAdmin, mysqlUrl, pgUrl, requireServer, scratchTables, type Admin } from '../support/servers.js';

/**
 * Every chunk of a batched bound list goes to MariaDB as its whole list would
 * (mysql/exact-params.ts), however the run goes: levels or eager, collected or streamed
 * through `run.rows()`, and resumed from a run store (its upstream rows read back from it).
 * Each run is compared with the one-statement literal list.
 */

const pgCheck = await requireServer('postgres');
const myCheck = await requireServer('mysql');

describeWithServer(pgCheck.skipReason ? pgCheck : myCheck, 'a batched chunk typed by its whole list, eager, streamed and resumed', () => {
  let my: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let codes: string;
  let expected: unknown[];
  let dir: string;
  const open: Executor[] = [];
  /** Whether each MariaDB call was asked for a row stream (`ExecuteContext.stream`). */
  const streamed: boolean[] = [];
  const executor = (extra: { runStore?: ReturnType<typeof sqliteRunStore> } = {}): Executor => {
    const inner = mysqlSource({ url: mysqlUrl() });
    const my: SourceExecutor = { ...inner, execute: (query, ctx) => (streamed.push(ctx.stream === true), inner.execute(query as never, ctx)) };
    const e = createExecutor({ sources: { pg: postgresSource({ url: pgUrl() }), my }, cache: false, ...extra });
    open.push(e);
    return e;
  };

  beforeAll(async () => {
    my = await mysqlAdmin();
    tables = scratchTables(my);
    codes = tables.name('codes');
    await my.exec(`CREATE TABLE ${codes} (code VARCHAR(30))`);
    // Compared with a number, '09007199254740993' matches 9007199254740993; as text it does not.
    await my.exec(`INSERT INTO ${codes} VALUES ('7'), ('007'), ('9007199254740993'), ('09007199254740993')`);
    expected = (await my.exec(`SELECT code FROM ${codes} WHERE code IN (7, 9007199254740993) ORDER BY code`)).map((r) => r.code);
    dir = mkdtempSync(join(tmpdir(), 'tributary-chunk-typing-'));
  });

  afterAll(async () => {
    await Promise.all(open.splice(0).map((e) => e.close()));
    await tables?.dropAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // A BIGINT $from: 7 a number, the other a decimal string (past 2^53); batches of one.
  const plan = (extra: Partial<Plan> = {}, dnSql = `SELECT code FROM ${codes} WHERE code IN (?)`): Plan => ({
    id: 'chunk-typing',
    fragments: [
      { id: 'up', source: 'pg', query: { sql: "SELECT unnest(ARRAY['7', '9007199254740993'])::bigint AS k" } },
      { id: 'dn', source: 'my', dependsOn: ['up'], batch: { param: 0, size: 1 }, query: { sql: dnSql, params: [from('up', 'k')] } },
    ],
    ...extra,
  });
  const codesOf = (rows: readonly Row[]): unknown[] => rows.map((r) => r.code).sort();
  const sorted = (): unknown[] => [...expected].sort();

  it('eager', async () => {
    const result = await executor().execute(plan({ schedule: 'eager' }));
    expect(result.errors.map((e) => e.message)).toEqual([]);
    expect(codesOf(result.rows)).toEqual(sorted());
  });

  it('streamed through run.rows()', async () => {
    for (const schedule of ['levels', 'eager'] as const) {
      streamed.length = 0;
      const run = executor().run(plan({ schedule }));
      const rows: Row[] = [];
      for await (const batch of run.rows()) rows.push(...batch);
      const result = await run.result;
      expect(result.errors.map((e) => e.message)).toEqual([]);
      expect(codesOf(rows), schedule).toEqual(sorted());
      // Both chunks' statements streamed (the connector's row stream), not collected.
      expect(streamed, schedule).toEqual([true, true]);
    }
  });

  it('resumed from a run store, the upstream rows read back from it', { timeout: 30_000 }, async () => {
    const file = join(dir, 'runs.db');
    const first = executor({ runStore: sqliteRunStore({ file }) });
    // Slow enough to be interrupted once `up` is stored.
    const run = first.run(plan({}, `SELECT code FROM ${codes} WHERE code IN (?) AND (SELECT SLEEP(1)) = 0`), { runId: 'chunks' });
    expect(await eventually(async () => (await first.runs()).some((r) => r.runId === 'chunks' && r.stored === 1), 10_000)).toBe(true);
    await first.close();
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    const second = executor({ runStore: sqliteRunStore({ file }) });
    const resumed = await second.resume('chunks');
    const result = await resumed.result;
    expect(result.errors.map((e) => e.message)).toEqual([]);
    expect(result.fragments.up).toMatchObject({ cached: true });
    expect(codesOf(result.rows)).toEqual(sorted());
  });
});
