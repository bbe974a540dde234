import type { Row } from '../data/row.js';

/** Bytes counted for each row object and each of its columns (object header, hidden class, slot). */
export const ROW_OVERHEAD_BYTES = 64;
export const COLUMN_OVERHEAD_BYTES = 16;

/**
 * A cheap estimate of the memory rows take, used to bound the cache by bytes. It is an
 * estimate, not a measurement (V8 shares strings and hidden classes), but it grows with what
 * the rows really hold and is the same for the same rows:
 *
 * - each row: 64 bytes; each column: 16 bytes plus the length of its name;
 * - a string: 2 bytes per UTF-16 unit (V8's two-byte worst case);
 * - a number or bigint: 8 (a bigint adds 8 per 64 bits beyond the first); a boolean: 4;
 *   null and undefined: 0;
 * - a Buffer or typed array: its byte length; a Date: 8;
 * - a nested array or object (JSON columns): 16 per element or property plus the size of its
 *   values, walked the same way (a cycle is counted once).
 */
export function estimateRowsBytes(rows: readonly Row[]): number {
  let bytes = 0;
  const seen = new Set<object>();
  for (const row of rows) {
    bytes += ROW_OVERHEAD_BYTES;
    for (const key in row) bytes += COLUMN_OVERHEAD_BYTES + key.length + estimateValueBytes(row[key], seen);
  }
  return bytes;
}

function estimateValueBytes(value: unknown, seen: Set<object>): number {
  switch (typeof value) {
    case 'string':
      return value.length * 2;
    case 'number':
      return 8;
    case 'bigint':
      return 8 * Math.max(1, Math.ceil(value.toString(16).length / 16));
    case 'boolean':
      return 4;
    case 'object': {
      if (value === null) return 0;
      if (ArrayBuffer.isView(value)) return value.byteLength;
      if (value instanceof Date) return 8;
      if (seen.has(value)) return 0;
      seen.add(value);
      let bytes = 0;
      if (Array.isArray(value)) {
        for (const item of value) bytes += COLUMN_OVERHEAD_BYTES + estimateValueBytes(item, seen);
      } else {
        for (const [k, v] of Object.entries(value)) bytes += COLUMN_OVERHEAD_BYTES + k.length + estimateValueBytes(v, seen);
      }
      return bytes;
    }
    default:
      return 0;
  }
}
