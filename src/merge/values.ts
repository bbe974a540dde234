import { stringify } from 'safe-stable-stringify';
import type { Row } from '../sources/source.js';
import { getColumn, isNullish } from './row.js';

/**
 * Value equality of the merge tree, as hash keys. Join, nest, union distinct, aggregate
 * group-by and the `eq` / `in` predicates all use it, so "equal" means one thing everywhere:
 * numbers and bigints by numeric value (`1` equals `1n`), strings exactly, booleans,
 * Buffers / Uint8Arrays by bytes, Dates by time value; a string never equals a number.
 * NaN equals NaN (as in PostgreSQL), and `-0` equals `0`.
 */

/** The key that stands for SQL NULL where nulls group together (group-by, distinct). */
const NULL_KEY = 'z';

/**
 * A string key for one non-null value, prefixed by its type so `'1'` and `1` differ.
 * Integral numbers go through BigInt so `1`, `1.0` and `1n` share a key exactly.
 */
export function valueKey(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `s${value}`;
    case 'number':
      return Number.isInteger(value) ? `n${BigInt(value)}` : `n${value}`;
    case 'bigint':
      return `n${value}`;
    case 'boolean':
      return value ? 'b1' : 'b0';
    case 'undefined':
      return NULL_KEY;
    default:
      if (value === null) return NULL_KEY;
      if (value instanceof Date) return `d${value.getTime()}`;
      if (value instanceof Uint8Array) {
        return `x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
      }
      // JSON columns (objects, arrays): structural equality, independent of key order.
      return `o${stringify(value)}`;
  }
}

/**
 * One key for several values. Every key in a given table has the same arity, so a single
 * value needs no framing; several are length-prefixed so no two tuples can collide.
 */
function combine(keys: readonly string[]): string {
  if (keys.length === 1) return keys[0] ?? '';
  let out = '';
  for (const key of keys) out += `${key.length}:${key}`;
  return out;
}

/** The join key of a row over `columns`, or `undefined` when any of them is null (nulls never join). */
export function joinKey(row: Row, columns: readonly string[]): string | undefined {
  const keys: string[] = [];
  for (const column of columns) {
    const value = getColumn(row, column);
    if (isNullish(value)) return undefined;
    keys.push(valueKey(value));
  }
  return combine(keys);
}

/** The grouping key of a row over `columns`; nulls (and missing columns) group together. */
export function groupKey(row: Row, columns: readonly string[]): string {
  return combine(columns.map((column) => valueKey(getColumn(row, column))));
}

/** SQL `=` on two values: false when either is null, else equality by `valueKey`. */
export function valuesEqual(a: unknown, b: unknown): boolean {
  return !isNullish(a) && !isNullish(b) && valueKey(a) === valueKey(b);
}
