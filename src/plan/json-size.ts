import { isPlainRow } from '../data/row.js';

/**
 * About how many bytes a value takes as JSON text, as a plan's size is measured
 * (`maxPlanBytes`): a string its UTF-8 bytes and quotes, a number its digits, an array or
 * object its brackets, commas, keys and values. Values that bind as themselves are not
 * looked into: a Buffer or typed array counts its byte length (what is sent), a Date 26
 * (its ISO text), any other object (a decimal with `toJSON`, a class instance) 16.
 *
 * Stops as soon as the count passes `room` and returns a number above it: a 100 MB string is
 * refused by its length, without reading it. Meant for a value that passed
 * `valueShapeProblem` (no cycle, bounded nesting), so the walk is bounded.
 */
export function jsonSize(root: unknown, room: number): number {
  let bytes = 0;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'object' && value !== null) {
      if (Array.isArray(value)) {
        bytes += 2 + Math.max(0, value.length - 1);
        for (let i = value.length - 1; i >= 0; i--) stack.push(value[i]);
      } else if (ArrayBuffer.isView(value)) bytes += value.byteLength;
      else if (value instanceof Date) bytes += 26;
      else if (!isPlainRow(value) || typeof (value as { toJSON?: unknown }).toJSON === 'function') bytes += 16;
      else {
        const keys = Object.keys(value);
        bytes += 2 + Math.max(0, keys.length - 1);
        for (const key of keys) {
          bytes += stringSize(key, room - bytes) + 1;
          stack.push((value as Record<string, unknown>)[key]);
        }
      }
    } else bytes += scalarSize(value, room - bytes);
    if (bytes > room) return bytes;
  }
  return bytes;
}

function scalarSize(value: unknown, room: number): number {
  switch (typeof value) {
    case 'string':
      return stringSize(value, room);
    case 'number':
      return Number.isSafeInteger(value) ? digits(value) : String(value).length;
    case 'bigint':
      // Its decimal digits from its hex length: a bigint's decimal text costs quadratic time to make.
      return Math.ceil(value.toString(16).length * 4 * Math.LOG10E * Math.LN2) + (value < 0n ? 1 : 0);
    case 'boolean':
      return value ? 4 : 5;
    default:
      return 4;
  }
}

/** A string's UTF-8 bytes and quotes; past `room` by its length alone (UTF-8 takes at least a byte per UTF-16 unit). */
function stringSize(value: string, room: number): number {
  return value.length > room ? value.length + 2 : Buffer.byteLength(value, 'utf8') + 2;
}

function digits(n: number): number {
  let count = n < 0 ? 2 : 1;
  for (let v = Math.abs(n); v >= 10; v = Math.floor(v / 10)) count++;
  return count;
}
