import { columnsOf, withColumns } from '../data/columns.js';
import type { Row } from '../data/row.js';

/**
 * Rows the cache hands to more than one caller (stored, or shared by a load in flight) are
 * its own frozen copies: a caller that changes its result's rows (assigns a column, pushes
 * onto a JSON array in a column) gets a TypeError in strict code, and never changes what
 * another caller is served. A copy, not the source's rows frozen in place: a memory source
 * answers with its table's own row objects, which stay its owner's.
 *
 * Each row and every plain object or array inside it (JSON columns) is copied and frozen;
 * other objects (a Date, a Buffer, a class instance) are shared as they are, since freezing
 * cannot stop their own methods from changing them. The array itself is not frozen (the
 * engine hands every caller its own array) and keeps its column names.
 */
export function frozenCopy(rows: readonly Row[]): Row[] {
  const out = new Array<Row>(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = frozenValue(rows[i]) as Row;
  const names = columnsOf(rows);
  return names === undefined ? out : withColumns(out, names);
}

/** Freezes rows that are already the cache's own (decoded from a store): no copy. */
export function freezeInPlace(rows: Row[]): Row[] {
  for (const row of rows) freezeValue(row);
  return rows;
}

function frozenValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const copy = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = frozenValue(value[i]);
    return Object.freeze(copy);
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const copy: Record<string, unknown> = proto === null ? (Object.create(null) as Record<string, unknown>) : {};
  for (const key of Object.keys(value)) {
    const v = frozenValue((value as Record<string, unknown>)[key]);
    // A `__proto__` column is an own data property (see setColumn), never the prototype setter.
    if (key === '__proto__') Object.defineProperty(copy, key, { value: v, enumerable: true, writable: true, configurable: true });
    else copy[key] = v;
  }
  return Object.freeze(copy);
}

function freezeValue(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  const proto: unknown = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return;
  for (const key of Object.keys(value)) freezeValue((value as Record<string, unknown>)[key]);
  Object.freeze(value);
}
