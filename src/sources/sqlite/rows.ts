import type Database from 'better-sqlite3';
import type { Row } from '../../data/row.js';

/**
 * The rows of a reader statement and its column names, with safe integers (bigints, normalized later by
 * convert.ts). better-sqlite3 builds each row with `row[name] = value`, so a column named
 * `__proto__` would set the row's prototype (a blob) or vanish (any other value). A
 * statement with such a column is read raw, as arrays, and each row is built here with the
 * column as an own property; every other statement reads objects as before (the statement
 * is cached, so its raw mode is set on every call).
 */
export function iterateRows(stmt: Database.Statement, params: unknown[]): { rows: IterableIterator<Row>; names: string[] } {
  const names = stmt.columns().map((c) => c.name);
  const raw = names.includes('__proto__');
  stmt.safeIntegers(true).raw(raw);
  const rows = stmt.iterate(...params) as IterableIterator<unknown>;
  return { rows: raw ? rowsOf(rows as IterableIterator<unknown[]>, names) : (rows as IterableIterator<Row>), names };
}

function* rowsOf(arrays: IterableIterator<unknown[]>, names: string[]): Generator<Row, undefined, undefined> {
  // A `for … of` returns the statement's iterator when the caller stops early.
  for (const values of arrays) {
    const row: Row = {};
    names.forEach((name, i) => Object.defineProperty(row, name, { value: values[i], enumerable: true, writable: true, configurable: true }));
    yield row;
  }
  return undefined;
}
