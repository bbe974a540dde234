import mysql from 'mysql2/promise';
import { mysqlUrl, pgAdmin, uniqueName, type Admin } from '../../support/servers.js';
import { MY_TYPES, mysqlCell, PG_TYPES } from '../pg-oracle/stores.js';
import { TABLE_NAMES, TABLES, type TableName, type World } from '../pg-oracle/schema.js';
import type { Collation, Collations } from './world.js';

/**
 * Where the MariaDB-oracle fuzz keeps its data: every table in MariaDB once per collation (the oracle's copy, which the `my` source reads too), and the tables placed on
 * PostgreSQL in PostgreSQL as well. Tables are created once per suite; each case fills the
 * MariaDB table it reads (a table not on MariaDB is read from its `utf8mb4_nopad_bin` copy)
 * and the PostgreSQL ones it places there.
 */

const TEXT = 'VARCHAR(64) CHARACTER SET utf8mb4';
const COLLATIONS: Collation[] = ['ci', 'bin', 'padBin'];
/** `utf8mb4_bin` orders by code point but ignores trailing spaces ('a' = 'a '), as every PAD SPACE collation does. */
const NAMED = { bin: 'utf8mb4_nopad_bin', padBin: 'utf8mb4_bin' } as const;

export class MyStores {
  readonly myName: Record<TableName, Record<Collation, string>>;
  readonly pgName: Record<TableName, string>;
  /** The name of the server's default utf8mb4 collation (utf8mb4_general_ci on MariaDB 10). */
  ciName = '';

  private constructor(readonly oracle: mysql.Connection, readonly pg: Admin) {
    this.myName = Object.fromEntries(TABLE_NAMES.map((t) => [t, Object.fromEntries(COLLATIONS.map((c) => [c, uniqueName(`fzm_${t}_${c}`)]))])) as Record<TableName, Record<Collation, string>>;
    this.pgName = Object.fromEntries(TABLE_NAMES.map((t) => [t, uniqueName(`fzm_${t}`)])) as Record<TableName, string>;
  }

  static async open(): Promise<MyStores> {
    // Every oracle cell is cast to text; utf8mb4, so that the emoji in the data survive.
    const oracle = await mysql.createConnection({ uri: mysqlUrl(), charset: 'utf8mb4_general_ci', supportBigNumbers: true, bigNumberStrings: true });
    oracle.on('error', () => undefined);
    // MariaDB 10.11's semi-join rewrite answers wrongly for an `IN (SELECT x COLLATE …)` under
    // another `IN` subquery (a row for an empty inner result; test/fuzz/my-oracle.test.ts keeps
    // the case): the oracle runs its subqueries plainly.
    await oracle.query("SET SESSION optimizer_switch = 'semijoin=off'");
    const stores = new MyStores(oracle, await pgAdmin());
    await stores.#create();
    return stores;
  }

  async #create(): Promise<void> {
    for (const t of TABLE_NAMES) {
      const cols = TABLES[t].columns;
      await this.pg.exec(`CREATE TABLE ${this.pgName[t]} (${cols.map(([n, ty]) => `"${n}" ${PG_TYPES[ty]}`).join(', ')})`);
      for (const c of COLLATIONS) {
        const text = c === 'ci' ? TEXT : `${TEXT} COLLATE ${NAMED[c]}`;
        await this.oracle.query(`CREATE TABLE ${this.myName[t][c]} (${cols.map(([n, ty]) => `\`${n}\` ${ty === 'text' ? text : MY_TYPES[ty]}`).join(', ')})`);
      }
    }
    const [rows] = await this.oracle.query('SELECT COLLATION_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?', [this.myName.ta.ci, 's']);
    this.ciName = String((rows as { c: string }[])[0]?.c);
  }

  /** The MariaDB table a case reads for `t`. */
  myTable(t: TableName, world: World, collation: Collations): string {
    return this.myName[t][world.placement[t] === 'my' ? collation[t] : 'bin'];
  }

  /** The collation a fragment's own SQL compares `t`'s text under. */
  collationOf(t: TableName, world: World, collation: Collations): string {
    const c = world.placement[t] === 'my' ? collation[t] : 'bin';
    return c === 'ci' ? this.ciName : NAMED[c];
  }

  async load(world: World, collation: Collations): Promise<void> {
    for (const t of TABLE_NAMES) {
      const cols = TABLES[t].columns;
      const rows = world.rows[t];
      const table = this.myTable(t, world, collation);
      await this.oracle.query(`TRUNCATE TABLE ${table}`);
      if (rows.length > 0) {
        await this.oracle.query(`INSERT INTO ${table} VALUES ${rows.map(() => `(${cols.map(() => '?').join(', ')})`).join(', ')}`, rows.flatMap((row) => cols.map(([n, ty]) => mysqlCell(ty, row[n] ?? null))));
      }
      if (world.placement[t] !== 'pg') continue;
      await this.pg.exec(`TRUNCATE ${this.pgName[t]}`);
      if (rows.length > 0) {
        const values = rows.map((_, r) => `(${cols.map(([, ty], c) => `$${r * cols.length + c + 1}::${PG_TYPES[ty]}`).join(', ')})`);
        await this.pg.exec(`INSERT INTO ${this.pgName[t]} VALUES ${values.join(', ')}`, rows.flatMap((row) => cols.map(([n]) => row[n])));
      }
    }
  }

  /** The oracle's rows: one array of text cells (or nulls) per row. */
  async query(sql: string): Promise<(string | null)[][]> {
    const [rows] = await this.oracle.query({ sql, rowsAsArray: true });
    return rows as (string | null)[][];
  }

  async close(): Promise<void> {
    for (const t of TABLE_NAMES) {
      await this.pg.exec(`DROP TABLE IF EXISTS ${this.pgName[t]}`).catch(() => undefined);
      for (const c of COLLATIONS) await this.oracle.query(`DROP TABLE IF EXISTS ${this.myName[t][c]}`).catch(() => undefined);
    }
    await this.pg.close();
    await this.oracle.end().catch(() => this.oracle.destroy());
  }
}
