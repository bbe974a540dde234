import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { memorySource, type SourceExecutor } from '../../../src/index.js';
import { mysqlAdmin, pgUrl, uniqueName, type Admin } from '../../support/servers.js';
import { policyValue, TABLE_NAMES, TABLES, type Cell, type ColType, type TableName, type World } from './schema.js';

/**
 * Where the fuzzed data lives: every table in PostgreSQL (the oracle's copy, which the `pg`
 * source reads too), and each table also on the source the world places it on — MariaDB,
 * an SQLite file or memory. Tables are created once per suite and refilled per case.
 */

export const PG_TYPES: Record<ColType, string> = { int: 'integer', big: 'bigint', num: 'numeric(40,12)', text: 'text', bool: 'boolean', date: 'date', ts: 'timestamp(3)' };
export const MY_TYPES: Record<ColType, string> = {
  int: 'INT', big: 'BIGINT', num: 'DECIMAL(40,12)', text: 'VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin', bool: 'BOOLEAN', date: 'DATE', ts: 'DATETIME(3)',
};
const LITE_TYPES: Record<ColType, string> = { int: 'INTEGER', big: 'INTEGER', num: 'NUMERIC', text: 'TEXT', bool: 'INTEGER', date: 'TEXT', ts: 'TEXT' };

export const mysqlCell = (type: ColType, cell: Cell): unknown => (cell !== null && type === 'ts' ? String(cell).replace('T', ' ').replace('Z', '') : cell);
function liteCell(type: ColType, cell: Cell): unknown {
  if (cell === null) return null;
  if (type === 'int' || type === 'big') return BigInt(String(cell));
  if (type === 'num') return Number(cell);
  return cell;
}

export class Stores {
  /** Physical table names: PostgreSQL (oracle and `pg` source), MariaDB. */
  readonly pgName: Record<TableName, string>;
  readonly myName: Record<TableName, string>;
  readonly liteFile: string;
  readonly #dir: string;
  #lite: Database.Database;

  private constructor(readonly oracle: pg.Client, readonly my: Admin) {
    this.pgName = Object.fromEntries(TABLE_NAMES.map((t) => [t, uniqueName(`fz_${t}`)])) as Record<TableName, string>;
    this.myName = Object.fromEntries(TABLE_NAMES.map((t) => [t, uniqueName(`fz_${t}`)])) as Record<TableName, string>;
    this.#dir = mkdtempSync(join(tmpdir(), 'tributary-pg-oracle-'));
    this.liteFile = join(this.#dir, 'fuzz.db');
    this.#lite = new Database(this.liteFile);
    this.#lite.pragma('journal_mode = WAL');
    this.#lite.pragma('synchronous = OFF');
  }

  static async open(): Promise<Stores> {
    const oracle = new pg.Client({ connectionString: pgUrl() });
    oracle.on('error', () => undefined);
    await oracle.connect();
    const stores = new Stores(oracle, await mysqlAdmin());
    await stores.#create();
    return stores;
  }

  async #create(): Promise<void> {
    for (const t of TABLE_NAMES) {
      const cols = TABLES[t].columns;
      await this.oracle.query(`CREATE TABLE ${this.pgName[t]} (${cols.map(([n, ty]) => `"${n}" ${PG_TYPES[ty]}`).join(', ')})`);
      if (TABLES[t].on.includes('my')) {
        await this.my.exec(`CREATE TABLE ${this.myName[t]} (${cols.map(([n, ty]) => `${n} ${MY_TYPES[ty]}`).join(', ')}) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin`);
      }
      if (TABLES[t].on.includes('lite')) this.#lite.exec(`CREATE TABLE ${t} (${cols.map(([n, ty]) => `${n} ${LITE_TYPES[ty]}`).join(', ')})`);
    }
  }

  /** Fills every table with the world's rows: PostgreSQL always, the placed source too. */
  async load(world: World): Promise<void> {
    for (const t of TABLE_NAMES) {
      const cols = TABLES[t].columns;
      const rows = world.rows[t];
      await this.oracle.query(`TRUNCATE ${this.pgName[t]}`);
      if (rows.length > 0) {
        const values = rows.map((_, r) => `(${cols.map(([, ty], c) => `$${r * cols.length + c + 1}::${PG_TYPES[ty]}`).join(', ')})`);
        await this.oracle.query(`INSERT INTO ${this.pgName[t]} VALUES ${values.join(', ')}`, rows.flatMap((row) => cols.map(([n]) => row[n])));
      }
      const on = world.placement[t];
      if (on === 'my') {
        await this.my.exec(`TRUNCATE TABLE ${this.myName[t]}`);
        if (rows.length > 0) {
          await this.my.exec(`INSERT INTO ${this.myName[t]} VALUES ${rows.map(() => `(${cols.map(() => '?').join(', ')})`).join(', ')}`, rows.flatMap((row) => cols.map(([n, ty]) => mysqlCell(ty, row[n] ?? null))));
        }
      }
      if (on === 'lite') {
        const insert = this.#lite.prepare(`INSERT INTO ${t} VALUES (${cols.map(() => '?').join(', ')})`);
        this.#lite.transaction(() => {
          this.#lite.exec(`DELETE FROM ${t}`);
          for (const row of rows) insert.run(...cols.map(([n, ty]) => liteCell(ty, row[n] ?? null)));
        })();
      }
    }
  }

  /** A memory source over the world's tables, holding what the values policy gives. */
  static memory(world: World): SourceExecutor {
    const tables: Record<string, Record<string, unknown>[]> = {};
    for (const t of TABLE_NAMES) {
      tables[t] = world.rows[t].map((row) => Object.fromEntries(TABLES[t].columns.map(([n, ty]) => [n, policyValue(ty, row[n] ?? null)])));
    }
    return memorySource({ tables });
  }

  async close(): Promise<void> {
    for (const t of TABLE_NAMES) {
      await this.oracle.query(`DROP TABLE IF EXISTS ${this.pgName[t]}`).catch(() => undefined);
      if (TABLES[t].on.includes('my')) await this.my.exec(`DROP TABLE IF EXISTS ${this.myName[t]}`).catch(() => undefined);
    }
    await this.oracle.end().catch(() => undefined);
    await this.my.close();
    this.#lite.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
