import type { Row } from './row.js';

/**
 * Column names that travel with a rows array, so a result with no rows still knows its
 * columns (PostgreSQL and MariaDB send a field list, SQLite statements know theirs). A
 * connector returns `withColumns(rows, names)`; for an `AsyncIterable` the first batch
 * carries them. The names sit on a non-enumerable property of the array: spreading,
 * `JSON.stringify`, `structuredClone` and `slice` drop it, so whoever copies or
 * concatenates rows and wants to keep the names passes them on with `withColumns` again.
 */
const COLUMNS = 'columns';

/**
 * `rows` itself, carrying `columns` (a frozen copy; a frozen array is shared as it is) as
 * a non-enumerable property. A name listed twice (`SELECT o.id, c.id`: a row object holds
 * one `id`, the last column's value, as every driver builds it) is kept once, where it first
 * appears, so the names match the rows' keys; a frozen array is taken as already so.
 */
export function withColumns<R extends readonly Row[]>(rows: R, columns: readonly string[]): R {
  const value = Object.isFrozen(columns) ? columns : Object.freeze(distinct(columns));
  Object.defineProperty(rows, COLUMNS, { value, enumerable: false, configurable: true, writable: false });
  return rows;
}

/** The names, each once (a copy). */
function distinct(columns: readonly string[]): string[] {
  const names = new Set(columns);
  return names.size === columns.length ? [...columns] : [...names];
}

/** A copy of the column names attached by `withColumns`, or `undefined` when none were. */
export function columnsOf(rows: readonly Row[]): string[] | undefined {
  if (!Object.hasOwn(rows, COLUMNS)) return undefined;
  const value: unknown = (rows as { [COLUMNS]?: unknown })[COLUMNS];
  return Array.isArray(value) && value.every((c) => typeof c === 'string') ? [...(value as string[])] : undefined;
}

/** True when `rows` carries column names attached by `withColumns`. */
export function hasColumns(rows: readonly Row[]): boolean {
  return Object.hasOwn(rows, COLUMNS);
}
