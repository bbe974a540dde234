import Database from 'better-sqlite3';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memorySource, sqliteSource, type SourceExecutor } from '../../src/index.js';
import type { RefWorld } from './reference.js';
import { declare, type Row } from './ref-values.js';

/**
 * The data the fuzzed plans run over: three small tables with colliding keys, nulls and (in
 * `t2`, memory only) awkward values, and an SQLite file holding copies of `t0` and `t1`.
 */

/** Each table's columns; `benign` columns hold only numbers, strings and nulls. */
export const TABLES: Record<'t0' | 't1' | 't2', { name: string; benign: boolean }[]> = {
  t0: [{ name: 'id', benign: true }, { name: 'k', benign: true }, { name: 'v', benign: true }, { name: 's', benign: true }],
  t1: [{ name: 'id', benign: true }, { name: 'k', benign: true }, { name: 'w', benign: true }, { name: 's', benign: true }],
  t2: [{ name: 'id', benign: true }, { name: 'k', benign: false }, { name: 'v', benign: false }, { name: 'x', benign: false }],
};
export type TableName = keyof typeof TABLES;
export const TABLE_NAMES = Object.keys(TABLES) as TableName[];
/** Tables mirrored into SQLite. */
export const SQL_TABLES: TableName[] = ['t0', 't1'];

/** Run parameters every fuzzed run gets. */
export const RUN_PARAMS: Record<string, unknown> = { p1: 1, p2: 'a', pn: null, pl: [1, 'a', null] };

export type Tables = Record<TableName, Row[]>;

const id = fc.integer({ min: 0, max: 6 });
const key = fc.option(fc.integer({ min: 0, max: 3 }), { nil: null, freq: 6 });
// Sums of these are exact in any order, so an aggregate never differs by rounding.
const number = fc.option(fc.constantFrom(-2, -1, 0, 1, 2, 3, 0.5, -1.25, 2.75), { nil: null, freq: 6 });
const text = fc.option(fc.constantFrom('a', 'b', 'B', '', 'é', '10', 'a b'), { nil: null, freq: 6 });
const odd = <T>(common: fc.Arbitrary<T>, rare: unknown[]) => fc.oneof({ arbitrary: common, weight: 5 }, { arbitrary: fc.constantFrom(...rare), weight: 1 });

/** Mostly 2–9 rows, sometimes none. */
const rowsOf = <T>(row: fc.Arbitrary<T>): fc.Arbitrary<T[]> =>
  fc.oneof({ arbitrary: fc.constant<T[]>([]), weight: 1 }, { arbitrary: fc.array(row, { minLength: 2, maxLength: 9 }), weight: 7 });

export const tablesArb: fc.Arbitrary<Tables> = fc.record({
  t0: rowsOf(fc.record({ id, k: key, v: number, s: text })),
  t1: rowsOf(fc.record({ id, k: key, w: number, s: text })),
  t2: rowsOf(
    fc.record(
      {
        id,
        k: odd(key, ['1', true, 1.5]),
        v: odd(number, [Number.NaN, Infinity, -Infinity, -0, true, false, 'x', '2']),
        x: odd(text, ['__proto__', 'constructor', '\u0000', '😀', 'Ω', 1]),
      },
      { requiredKeys: ['id'] },
    ),
  ),
});

function normalize(row: Row): Row {
  for (const key of Object.keys(row)) {
    const v = row[key];
    if (typeof v === 'bigint') row[key] = Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  }
  return row;
}

/** An SQLite file with `t0` and `t1`, reloaded per case; the reference reads it read-only. */
export class Mirror {
  readonly file: string;
  readonly #dir: string;
  readonly #writer: Database.Database;
  readonly #reader: Database.Database;

  constructor() {
    this.#dir = mkdtempSync(join(tmpdir(), 'tributary-fuzz-'));
    this.file = join(this.#dir, 'fuzz.db');
    this.#writer = new Database(this.file);
    this.#writer.pragma('journal_mode = WAL');
    this.#writer.pragma('synchronous = OFF');
    // No declared types: no affinity, so SQLite compares values as the engine does.
    for (const t of SQL_TABLES) this.#writer.exec(`CREATE TABLE ${t} (${TABLES[t].map((c) => c.name).join(', ')})`);
    this.#reader = new Database(this.file, { readonly: true });
  }

  load(tables: Tables): void {
    this.#writer.transaction(() => {
      for (const t of SQL_TABLES) {
        this.#writer.exec(`DELETE FROM ${t}`);
        const columns = TABLES[t].map((c) => c.name);
        const insert = this.#writer.prepare(`INSERT INTO ${t} VALUES (${columns.map(() => '?').join(', ')})`);
        for (const row of tables[t]) insert.run(...columns.map((c) => row[c] ?? null));
      }
    })();
  }

  sql(text: string, params: unknown[]): Row[] {
    const stmt = this.#reader.prepare(text);
    if (!stmt.reader) {
      stmt.run(...params);
      return [];
    }
    return declare((stmt.safeIntegers(true).all(...params) as Row[]).map(normalize), stmt.columns().map((c) => c.name));
  }

  close(): void {
    this.#reader.close();
    this.#writer.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** The reference's view of one case's data. */
export function refWorld(tables: Tables, mirror: Mirror, extra: Partial<RefWorld> = {}): RefWorld {
  return { sources: { mem: 'memory', sql: 'sqlite' }, tables, sql: (text, params) => mirror.sql(text, params), params: RUN_PARAMS, ...extra };
}

/** The engine's sources over the same data: `mem` (memory) and `sql` (SQLite, read-only). */
export function engineSources(tables: Tables, mirror: Mirror, memMax?: number, sqlMax?: number): Record<string, SourceExecutor> {
  return {
    mem: memorySource({ tables, ...(memMax === undefined ? {} : { maxConcurrency: memMax }) }),
    sql: sqliteSource({ file: mirror.file, readonly: true, ...(sqlMax === undefined ? {} : { maxConcurrency: sqlMax }) }),
  };
}
