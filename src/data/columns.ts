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
 * a non-enumerable property.
 */
export function withColumns<R extends readonly Row[]>(rows: R, columns: readonly string[]): R {
  const value = Object.isFrozen(columns) ? columns : Object.freeze([...columns]);
  Object.defineProperty(rows, COLUMNS, { value, enumerable: false, configurable: true, writable: false });
  return rows;
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
