import type { Row } from '../sources/source.js';

/**
 * A cheap estimate of the memory rows take, used to bound the cache by bytes: 2 bytes per
 * string character (V8's two-byte worst case), 8 per number, the byte length of buffers,
 * 64 per row and 16 per column for object overhead. It walks every value once.
 */
export function estimateRowsBytes(rows: readonly Row[]): number {
  let bytes = 0;
  for (const row of rows) {
    bytes += 64;
    for (const key in row) bytes += 16 + key.length + estimateValueBytes(row[key]);
  }
  return bytes;
}

function estimateValueBytes(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return value.length * 2;
    case 'number':
    case 'bigint':
      return 8;
    case 'boolean':
      return 4;
    case 'object':
      if (value === null) return 0;
      if (ArrayBuffer.isView(value)) return value.byteLength;
      return JSON.stringify(value)?.length ?? 0;
    default:
      return 0;
  }
}
