import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, from, mysqlSource, postgresSource, sqliteSource, type Executor, type Plan } from '../../src/index.js';
import { describeWithServer, mysqlAdmin, mysqlUrl, pgAdmin, pgUrl, requireServer, scratchTables, type Admin } from '../support/servers.js';

const pgCheck = await requireServer('postgres');
const myCheck = await requireServer('mysql');

// Keys on both sides of 2^53: the small ones arrive as numbers, the large ones as exact strings,
// the same way from every source, so they join.
const KEYS = ['1', '2', '9007199254740993', '18446744073709551615'];
const PG_KEYS = KEYS.slice(0, 3); // int8 tops out at 2^63 - 1

describeWithServer(pgCheck.skipReason ? pgCheck : myCheck, 'keys join across SQLite, PostgreSQL and MariaDB', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-keys-'));
  const file = join(dir, 'keys.db');
  let pg: Admin;
  let my: Admin;
  let pgTables: ReturnType<typeof scratchTables>;
  let myTables: ReturnType<typeof scratchTables>;
  let pgTable: string;
  let myTable: string;
  let executor: Executor;

  beforeAll(async () => {
    const db = new Database(file);
    db.exec('CREATE TABLE lite (id INTEGER PRIMARY KEY, label TEXT)');
    // SQLite integers are 64-bit signed: 2^64 - 1 does not fit, so SQLite holds the first three.
    for (const key of PG_KEYS) db.prepare('INSERT INTO lite VALUES (?, ?)').run(BigInt(key), `lite-${key}`);
    db.close();
    pg = await pgAdmin();
    pgTables = scratchTables(pg);
    pgTable = pgTables.name('pgkeys');
    await pg.exec(`CREATE TABLE ${pgTable} (id BIGINT PRIMARY KEY, label TEXT)`);
    await pg.exec(`INSERT INTO ${pgTable} VALUES ${PG_KEYS.map((k) => `(${k}, 'pg-${k}')`).join(', ')}`);
    my = await mysqlAdmin();
    myTables = scratchTables(my);
    myTable = myTables.name('mykeys');
    await my.exec(`CREATE TABLE ${myTable} (id BIGINT UNSIGNED PRIMARY KEY, label VARCHAR(40))`);
    await my.exec(`INSERT INTO ${myTable} VALUES ${KEYS.map((k) => `(${k}, 'my-${k}')`).join(', ')}`);
    executor = createExecutor({
      sources: { lite: sqliteSource({ file }), pg: postgresSource({ url: pgUrl() }), my: mysqlSource({ url: mysqlUrl() }) },
      cache: false,
    });
  });

  afterAll(async () => {
    await executor?.close();
    await pgTables?.dropAll();
    await myTables?.dropAll();
    await pg?.close();
    await my?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const fragments = (): Plan['fragments'] => [
    { id: 'lite', source: 'lite', query: { sql: 'SELECT id, label FROM lite' } },
    { id: 'pg', source: 'pg', query: { sql: `SELECT id, label FROM ${pgTable}` } },
    { id: 'my', source: 'my', query: { sql: `SELECT id, label FROM ${myTable}` } },
  ];
  const pairJoin = async (left: string, right: string) => {
    const result = await executor.execute({
      fragments: fragments(),
      merge: { op: 'sort', by: [{ column: 'label' }], input: { op: 'join', type: 'inner', left, right, on: [['id', 'id']] } },
    });
    expect(result.status).toBe('ok');
    return result.rows.map((r) => [r.id, r[`${right}.id`]]);
  };
  const expectedPairs = PG_KEYS.map((k) => {
    const v = Number.isSafeInteger(Number(k)) ? Number(k) : k;
    return [v, v];
  });

  it('joins an SQLite INTEGER key to a PostgreSQL BIGINT key', async () => {
    expect(await pairJoin('lite', 'pg')).toEqual(expectedPairs);
  });

  it('joins an SQLite INTEGER key to a MariaDB BIGINT UNSIGNED key', async () => {
    expect(await pairJoin('lite', 'my')).toEqual(expectedPairs);
  });

  it('joins a PostgreSQL BIGINT key to a MariaDB BIGINT UNSIGNED key', async () => {
    expect(await pairJoin('pg', 'my')).toEqual(expectedPairs);
  });

  it('binds keys from one source into another, large ones included', async () => {
    for (const [upstream, downstream, sql] of [
      ['lite', 'pg', `SELECT id, label FROM ${pgTable} WHERE id = ANY($1)`],
      ['lite', 'my', `SELECT id, label FROM ${myTable} WHERE id IN (?)`],
      ['pg', 'my', `SELECT id, label FROM ${myTable} WHERE id IN (?)`],
      ['my', 'pg', `SELECT id, label FROM ${pgTable} WHERE id = ANY($1)`],
      ['my', 'lite', 'SELECT id, label FROM lite WHERE id IN (SELECT value FROM json_each(?))'],
    ] as const) {
      const all = fragments();
      const found = all.find((f) => f.id === upstream)!;
      // 2^64 - 1 fits no signed 64-bit column: bind only the keys the downstream can hold.
      const up = upstream === 'my' ? { ...found, query: { sql: `SELECT id, label FROM ${myTable} WHERE id <= 9223372036854775807` } } : found;
      const result = await executor.execute({
        fragments: [up, { id: 'bound', source: downstream, dependsOn: [upstream], query: { sql, params: [from(upstream, 'id')] } }],
        merge: { op: 'sort', by: [{ column: 'label' }], input: 'bound' },
      });
      expect({ upstream, downstream, status: result.status, errors: result.errors.map((e) => e.message) }).toEqual({ upstream, downstream, status: 'ok', errors: [] });
      const expected = PG_KEYS.map((k) => (Number.isSafeInteger(Number(k)) ? Number(k) : k));
      expect(result.rows.map((r) => r.id).sort(), `${upstream} → ${downstream}`).toEqual(expected.sort());
    }
  });
});
