/**
 * A cheap estimate of the memory a value holds as data, used for `maxBytes`: a string
 * counts its length (UTF-16 code units, = bytes for ASCII), a Buffer its byte length, a
 * number, bigint, boolean or Date 8, null 0, arrays and objects the sum of their parts plus
 * their keys' lengths. Object headers and shared column names are not counted, so the true
 * heap size is larger; the estimate is for bounding, not accounting.
 */
export function estimateValueBytes(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return value.length;
    case 'number':
    case 'bigint':
    case 'boolean':
      return 8;
    case 'object': {
      if (value === null) return 0;
      if (value instanceof Date) return 8;
      if (ArrayBuffer.isView(value)) return value.byteLength;
      let total = 0;
      if (Array.isArray(value)) {
        for (const item of value) total += estimateValueBytes(item);
        return total;
      }
      for (const [key, item] of Object.entries(value)) total += key.length + estimateValueBytes(item);
      return total;
    }
    default:
      return 0;
  }
}

/** The estimate of `estimateValueBytes` summed over a row's values (column names excluded). */
export function estimateRowBytes(row: Record<string, unknown>): number {
  let total = 0;
  for (const key in row) total += estimateValueBytes(row[key]);
  return total;
}
