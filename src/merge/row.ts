import type { Row } from '../sources/source.js';

/**
 * Sets a column on a row as an own data property. Plain assignment would treat a column
 * named `__proto__` (possible in untrusted JSON) as the prototype setter.
 */
export function setColumn(row: Row, name: string, value: unknown): void {
  if (name === '__proto__') {
    Object.defineProperty(row, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    row[name] = value;
  }
}

/**
 * Reads a column that is an own property of the row, else `undefined`. Plain indexing would
 * return inherited members for columns named `__proto__`, `constructor` or `toString`.
 */
export function getColumn(row: Row, name: string): unknown {
  return Object.hasOwn(row, name) ? row[name] : undefined;
}

/** True when a value is SQL NULL: `null`, or `undefined` for a column the row lacks. */
export function isNullish(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

/**
 * A new row holding exactly `columns`, in that order, read from `row` (a missing column
 * becomes `null`). Always a fresh object: input rows are shared and never mutated.
 */
export function pickRow(row: Row, columns: readonly string[]): Row {
  const out: Row = {};
  for (const column of columns) setColumn(out, column, getColumn(row, column) ?? null);
  return out;
}
