import type { Row } from './row.js';

/**
 * The one byte estimate of rows, used wherever bytes are bounded or reported: the cache's
 * `maxBytes`, the per-query quota, a connector's `maxBytes`, EXPLAIN ANALYZE and the CLI.
 * It is an estimate, not a measurement (V8 shares strings and hidden classes), but it grows
 * with what the rows really hold and is the same for the same rows:
 *
 * - each row: 64 bytes; each column: 16 bytes plus the length of its name;
 * - a string: 2 bytes per UTF-16 unit (V8's two-byte worst case);
 * - a number: 8; a bigint: 8 per 64 bits (at least 8); a boolean: 4; null and undefined: 0;
 * - a Buffer or typed array: its byte length; a Date: 8;
 * - a nested array or object (JSON columns): 16 per element or property (plus the
 *   property's name) and the size of its values, walked the same way; an object reached
 *   twice (shared, or a cycle) is counted once.
 */

/** Bytes counted for each row object (object header, hidden class). */
export const ROW_OVERHEAD_BYTES = 64;
/** Bytes counted for each column, element or property besides its name and value (the slot). */
export const COLUMN_OVERHEAD_BYTES = 16;

/** The estimate of one value; `seen` carries the objects already counted. */
export function estimateValueBytes(value: unknown, seen: Set<object> = new Set()): number {
  if (typeof value !== 'object' || value === null) return scalarBytes(value);
  // A stack, not recursion: a JSON value from an API may be nested thousands of levels deep.
  let bytes = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) bytes += scalarBytes(v);
    else if (ArrayBuffer.isView(v)) bytes += v.byteLength;
    else if (v instanceof Date) bytes += 8;
    else if (!seen.has(v)) {
      seen.add(v);
      if (Array.isArray(v)) {
        bytes += COLUMN_OVERHEAD_BYTES * v.length;
        for (const item of v) stack.push(item);
      } else {
        for (const k of Object.keys(v)) {
          bytes += COLUMN_OVERHEAD_BYTES + k.length;
          stack.push((v as Record<string, unknown>)[k]);
        }
      }
    }
  }
  return bytes;
}

function scalarBytes(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return value.length * 2;
    case 'number':
      return 8;
    case 'bigint':
      return 8 * Math.max(1, Math.ceil(value.toString(16).length / 16));
    case 'boolean':
      return 4;
    default:
      return 0;
  }
}

/**
 * The estimate of one row: its overhead, and each column's overhead, name and value. Without
 * `seen`, one is made only for a row with a nested value: every row of every bounded fragment
 * is estimated (the default byte bound), and a row of scalars, dates and bytes allocates nothing.
 */
export function estimateRowBytes(row: Row, seen?: Set<object>): number {
  const bytes = rowBytes(row, seen);
  return bytes >= 0 ? bytes : rowBytes(row, new Set());
}

/**
 * The estimate of a batch of rows (an object shared between rows is counted once). The set
 * of objects seen is made only when a row holds a nested value: a batch of rows of scalars
 * (nearly every batch of a SQL source) allocates nothing.
 */
export function estimateRowsBytes(rows: readonly Row[]): number {
  let seen: Set<object> | undefined;
  let bytes = 0;
  for (const row of rows) {
    const b = rowBytes(row, seen);
    bytes += b >= 0 ? b : rowBytes(row, (seen = new Set()));
  }
  return bytes;
}

/** One row's estimate; without `seen`, -1 for a row with a nested value (an array or an object), which needs one. */
function rowBytes(row: Row, seen: Set<object> | undefined): number {
  let bytes = ROW_OVERHEAD_BYTES;
  for (const key in row) {
    const value = row[key];
    bytes += COLUMN_OVERHEAD_BYTES + key.length;
    if (typeof value !== 'object' || value === null) bytes += scalarBytes(value);
    else if (value instanceof Date) bytes += 8;
    else if (ArrayBuffer.isView(value)) bytes += value.byteLength;
    else if (seen === undefined) return -1;
    else bytes += estimateValueBytes(value, seen);
  }
  return bytes;
}
