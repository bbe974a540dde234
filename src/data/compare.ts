import { compareExact, isDecimalString } from './decimal.js';
import { isNullish } from './row.js';
import { valueKey } from './values.js';
import { compareText } from './text-order.js';

/**
 * Orderings of the merge tree. `compareValues` is SQL's `<`: it knows numbers (with
 * bigints and decimal strings, compared exactly), strings (by code point: data/text-order.ts), booleans (false < true), Dates (by time) and
 * byte arrays (bytewise); nulls and mismatched types compare as UNKNOWN. A decimal string
 * (data/decimal.ts) is a number against a number or another decimal string, and text
 * against any other string: a NUMERIC column holds no other strings, so that string says
 * the values are text. `compareTotal` extends it to a total order for sort, min and max by
 * ranking types: boolean < number < string < Date < bytes < anything else; in a text column
 * (`text`: the column holds a string that is no decimal string) every string is text, so
 * `'99999999999999999'` sorts after `'100000000000000000'`, as the database sorts its text.
 * NaN sorts after every other number and equals itself, as in PostgreSQL.
 */

/** Type ranks of the total order; values of one rank compare with `compareValues`. */
function rank(value: unknown, text: boolean): number {
  switch (typeof value) {
    case 'boolean':
      return 0;
    case 'number':
    case 'bigint':
      return 1;
    case 'string':
      return !text && isDecimalString(value) ? 1 : 2;
    default:
      if (value instanceof Date) return 3;
      if (value instanceof Uint8Array) return 4;
      return 5;
  }
}

function sign(a: number | bigint | boolean, b: typeof a): number {
  // JS relational operators compare number with bigint exactly.
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareNumbers(a: number | bigint, b: number | bigint): number {
  const aNaN = typeof a === 'number' && Number.isNaN(a);
  const bNaN = typeof b === 'number' && Number.isNaN(b);
  if (aNaN || bNaN) return aNaN && bNaN ? 0 : aNaN ? 1 : -1;
  // A number beyond 2^53 against a bigint: the number is its shortest decimal, as in equality.
  if (typeof a !== typeof b) {
    const n = (typeof a === 'number' ? a : b) as number;
    if (Number.isFinite(n) && !Number.isSafeInteger(n)) return compareExact(a, b);
  }
  return sign(a, b);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Math.sign(Buffer.compare(a, b));
}

/**
 * Compares two values: negative, zero or positive, or `undefined` (SQL UNKNOWN) when either
 * is null/undefined or their types are not comparable with each other.
 */
export function compareValues(a: unknown, b: unknown): number | undefined {
  if (isNullish(a) || isNullish(b)) return undefined;
  const ta = typeof a;
  const tb = typeof b;
  if ((ta === 'number' || ta === 'bigint') && (tb === 'number' || tb === 'bigint')) {
    return compareNumbers(a as number | bigint, b as number | bigint);
  }
  const da = ta === 'string' && isDecimalString(a as string);
  const db = tb === 'string' && isDecimalString(b as string);
  if (da || db) {
    if ((da || ta === 'number' || ta === 'bigint') && (db || tb === 'number' || tb === 'bigint')) {
      // NaN is above every other number; the rest compare exactly as decimals.
      if (Number.isNaN(a) || Number.isNaN(b)) return compareNumbers(Number(a), Number(b));
      return compareExact(a as number | bigint | string, b as number | bigint | string);
    }
    // A decimal string against other text: text, by code point.
    if (ta === 'string' && tb === 'string') return compareText(a as string, b as string);
    return undefined;
  }
  if (ta === 'string' && tb === 'string') return compareText(a as string, b as string);
  if (ta === 'boolean' && tb === 'boolean') return sign(a as boolean, b as boolean);
  if (a instanceof Date && b instanceof Date) return compareNumbers(a.getTime(), b.getTime());
  if (a instanceof Uint8Array && b instanceof Uint8Array) return compareBytes(a, b);
  return undefined;
}

/**
 * A total order on non-null values: type rank first, then `compareValues`, then the hash
 * key. With `text` (a text column: it holds a string that is no decimal string), every
 * string is text and strings compare by code point.
 */
export function compareTotal(a: unknown, b: unknown, text = false): number {
  const ranked = rank(a, text) - rank(b, text);
  if (ranked !== 0) return Math.sign(ranked);
  if (text && typeof a === 'string' && typeof b === 'string') return compareText(a, b);
  const compared = compareValues(a, b);
  if (compared !== undefined) return compared;
  const ka = valueKey(a);
  const kb = valueKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** True when `value` makes its column a text column: a string that is no decimal string. */
export function isText(value: unknown): boolean {
  return typeof value === 'string' && !isDecimalString(value);
}
