import { stringify } from 'safe-stable-stringify';
import { isDecimalString, plainNumberText } from './decimal.js';
import { getColumn, isNullish, isPlainRow, plainName, type Row } from './row.js';

/**
 * Value equality of the merge tree, as hash keys. Join, nest, union distinct, aggregate
 * group-by and the `eq` / `in` predicates all use it, so "equal" means one thing everywhere:
 * numbers, bigints and decimal strings (data/decimal.ts: the exact text of a DECIMAL value
 * a double cannot hold) by numeric value (`1` equals `1n`, `1e18` equals
 * `'1000000000000000000'`), other strings exactly, booleans,
 * Buffers / Uint8Arrays by bytes, Dates by time value; a string never equals a number.
 * NaN equals NaN (as in PostgreSQL), and `-0` equals `0`.
 */

/** The key that stands for SQL NULL where nulls group together (group-by, distinct). */
const NULL_KEY = 'z';

/**
 * A string key for one non-null value, prefixed by its type so `'1'` and `1` differ.
 * Safe integers print as their bigints do, so `1`, `1.0` and `1n` share a key; other
 * numbers are keyed by their shortest decimal in plain notation, which is how a decimal
 * string spells the same value.
 */
export function valueKey(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return isDecimalString(value) ? `n${value}` : `s${value}`;
    case 'number':
      // A safe integer prints as its BigInt does (and -0 as 0). Any other number is its
      // shortest decimal, integers beyond 2^53 too: 1.23456789012345e18 meets the decimal
      // string '1234567890123450000', not the binary value BigInt would print.
      if (Number.isSafeInteger(value)) return `n${value}`;
      return `n${plainNumberText(value)}`;
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

/*
 * One key for several values: every key in a given table has the same arity, so a single
 * value needs no framing; several are length-prefixed so no two tuples can collide.
 */

/** The join key of a row over `columns`, or `undefined` when any of them is null (nulls never join). */
export function joinKey(row: Row, columns: readonly string[]): string | undefined {
  if (columns.length === 1) {
    const value = getColumn(row, columns[0] ?? '');
    return isNullish(value) ? undefined : valueKey(value);
  }
  let out = '';
  for (const column of columns) {
    const value = getColumn(row, column);
    if (isNullish(value)) return undefined;
    const key = valueKey(value);
    out += `${key.length}:${key}`;
  }
  return out;
}

/** The grouping key of a row over `columns`; nulls (and missing columns) group together. */
export function groupKey(row: Row, columns: readonly string[]): string {
  if (columns.length === 1) return valueKey(getColumn(row, columns[0] ?? ''));
  let out = '';
  for (const column of columns) {
    const key = valueKey(getColumn(row, column));
    out += `${key.length}:${key}`;
  }
  return out;
}

/**
 * A hash key usable directly as a `Map` key, for the common single-column case: numbers,
 * strings and booleans stand for themselves (a `Map` already treats `-0` as `0` and NaN as
 * NaN, and never confuses `1` with `'1'` or `true`); a bigint becomes the number whose
 * shortest decimal spells it, if any, so `1n` meets `1`. Any other value, and a decimal string (which must
 * meet the number it spells), has no primitive key: `NO_KEY`. A table
 * must use primitive keys for all its values or for none (a string could equal a
 * `valueKey`), so callers fall back to `valueKey` for the whole table when they meet `NO_KEY`.
 */
export type PrimitiveKey = number | string | boolean | bigint;
export const NO_KEY: unique symbol = Symbol('no primitive key');

export function primitiveKey(value: unknown): PrimitiveKey | typeof NO_KEY {
  switch (typeof value) {
    case 'string':
      return isDecimalString(value) ? NO_KEY : value;
    case 'number':
    case 'boolean':
      return value;
    case 'bigint': {
      // The number key exactly when `valueKey` gives both the same key: the number whose
      // shortest decimal spells this bigint.
      const n = Number(value);
      if (Number.isSafeInteger(n)) return n;
      return Number.isFinite(n) && plainNumberText(n) === value.toString() ? n : value;
    }
    default:
      return NO_KEY;
  }
}

/**
 * The primitive key of `value`, which the caller read as `row[column]` in its own loop (a
 * property access shared by every caller would see every row shape and go megamorphic),
 * taken as `readColumn` takes it (`plain`: `plainName(column)`): `null` for SQL NULL (a
 * null, or a column the row lacks or only inherits), `NO_KEY` for a value without one.
 */
export function primitiveKeyRead(row: Row, column: string, plain: boolean, value: unknown): PrimitiveKey | null | typeof NO_KEY {
  if (value === null || value === undefined) return null;
  if (!(plain && isPlainRow(row)) && !Object.hasOwn(row, column)) return null;
  return primitiveKey(value);
}

/**
 * The keys of `rows` over `columns` for a hash table, or `undefined` (nulls never join).
 * With `primitive`, the single column's primitive keys, or `NO_KEY` as soon as a value has
 * none; otherwise `joinKey` strings.
 */
export function joinKeys(rows: readonly Row[], columns: readonly string[], primitive: boolean): (PrimitiveKey | undefined)[] | typeof NO_KEY {
  const keys = new Array<PrimitiveKey | undefined>(rows.length);
  if (primitive && columns.length === 1) {
    const column = columns[0] ?? '';
    const plain = plainName(column);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as Row;
      const key = primitiveKeyRead(row, column, plain, row[column]);
      if (key === NO_KEY) return NO_KEY;
      keys[i] = key ?? undefined;
    }
    return keys;
  }
  for (let i = 0; i < rows.length; i++) keys[i] = joinKey(rows[i] as Row, columns);
  return keys;
}

/** SQL `=` on two values: false when either is null, else equality by `valueKey`. */
export function valuesEqual(a: unknown, b: unknown): boolean {
  return !isNullish(a) && !isNullish(b) && valueKey(a) === valueKey(b);
}
