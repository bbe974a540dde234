import type { Row } from '../../data/row.js';
import { normalizeInteger } from '../sql/normalize.js';

/**
 * A row read with `safeIntegers(true)`, its bigints turned into the values policy's integers
 * (in place). A blob that crossed from a worker thread arrives as a plain `Uint8Array` (a
 * structured clone drops the Buffer class): it becomes a `Buffer` over the same bytes, as
 * the policy gives every blob.
 */
export function normalizeRow(raw: Row): Row {
  for (const key in raw) {
    const value = raw[key];
    if (typeof value === 'bigint') raw[key] = normalizeInteger(value);
    else if (value instanceof Uint8Array && !Buffer.isBuffer(value)) raw[key] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  return raw;
}

/** A bound value as SQLite takes it: a list becomes JSON text for `json_each(?)`. */
export function toSqliteValue(value: unknown): unknown {
  if (Array.isArray(value)) return JSON.stringify(value.map(jsonSafe));
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === undefined) return null;
  if (typeof value === 'object' && value !== null && !Buffer.isBuffer(value)) {
    if (value instanceof Date) return value.toISOString();
    // A typed array is bytes (a blob); a boxed primitive is its primitive.
    if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    if (value instanceof Number || value instanceof String || value instanceof Boolean) return toSqliteValue(value.valueOf());
    return JSON.stringify(value);
  }
  return value;
}

function jsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') return normalizeInteger(value);
  if (Buffer.isBuffer(value)) return value.toString('hex');
  return value;
}
