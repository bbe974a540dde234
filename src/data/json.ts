import { parse as parseExactly } from 'lossless-json';
import { TributaryError } from '../errors.js';
import { fromDecimal, toDecimal } from './decimal.js';

/** A run of 16 digits: the only text in which a JSON number can be an integer beyond ±2^53. */
const LONG_DIGITS = /\d{16}/;

/**
 * The only text in which a JSON number can be past a double's range (JSON.parse: ±Infinity)
 * or below its normal range (0, or a subnormal that keeps a few bits): an exponent of three
 * digits or more, or a run of 200 digits (a two-digit exponent moves the point 99 places at
 * most; a double ends at 1.8e308 and its normal range at 2.2e-308).
 */
const FAR_EXPONENT = /[eE][+-]?\d{3}|\d{200}/;

/** PostgreSQL NUMERIC's range: up to 131,072 digits before the point and 16,383 after. */
const NUMERIC_INTEGER_DIGITS = 131_072;
const NUMERIC_FRACTION_DIGITS = 16_383;

/**
 * JSON text parsed — an HTTP response body, a json / jsonb / MySQL JSON value — its integers
 * beyond ±2^53 kept as their exact decimal strings, as the values policy gives every
 * source's integers (a 64-bit id from an API or a JSON column must still find its row when
 * it is bound into another database). JSON.parse would round them to the nearest double.
 * Other numbers, fractions included, are JSON.parse's doubles: that is what an API that
 * prints them most likely meant — except a number a double cannot hold at all, past its
 * range (`1e400`, which JSON.parse makes Infinity) or below its normal range (`1e-400`,
 * which it makes 0): that one is the exact decimal a PostgreSQL NUMERIC (and a jsonb number)
 * gives the same value, a decimal string (`'1000…0'`, `'0.000…1'`) or, where the double
 * holds it exactly, the number. Past NUMERIC's own range it is SOURCE_BAD_RESPONSE, as
 * PostgreSQL refuses it. The exact parse (lossless-json, ~5× slower) runs only when JSON.parse
 * met such a number; any other body costs JSON.parse (and, when it has a run of 16 digits
 * somewhere, a walk of the parsed value). As with JSON.parse, the last of duplicate keys wins
 * and `__proto__` is an own key, never a prototype.
 */
export function parseJsonBody(text: string): unknown {
  const value: unknown = JSON.parse(text);
  // Digits in strings (phone numbers, long ids as text) are no reason for the slower parse:
  // only a number JSON.parse could not hold exactly is (a walk costs a fifth of the parse).
  if (FAR_EXPONENT.test(text) ? !hasInexactNumber(value, true) : !LONG_DIGITS.test(text) || !hasInexactNumber(value, false)) return value;
  return parseExactly(text, null, { parseNumber: exactNumber, onDuplicateKey: ({ newValue }) => newValue });
}

/** The least positive normal double (DBL_MIN): below it a double holds fewer than 53 bits. */
const MIN_NORMAL = 2.2250738585072014e-308;

/**
 * Whether a parsed value holds an integer beyond ±2^53 (one that was rounded), anywhere;
 * with `far`, also a number that may stand for one a double cannot hold (±Infinity, 0 or a
 * subnormal: the text decides, in the exact parse).
 */
function hasInexactNumber(value: unknown, far: boolean): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'number') {
      if (Number.isInteger(v) && !Number.isSafeInteger(v)) return true;
      if (far && (!Number.isFinite(v) || Math.abs(v) < MIN_NORMAL)) return true;
    } else if (typeof v === 'object' && v !== null) {
      if (Array.isArray(v)) for (let i = 0; i < v.length; i++) stack.push(v[i]);
      else for (const key of Object.keys(v)) stack.push((v as Record<string, unknown>)[key]);
    }
  }
  return false;
}

/**
 * A number's text as the values policy reads it: a number when safe, an integer beyond ±2^53
 * as its exact text, a number a double cannot hold (see `parseJsonBody`) as its exact decimal.
 */
function exactNumber(text: string): number | string {
  const n = Number(text);
  if (Number.isFinite(n) && (Math.abs(n) >= MIN_NORMAL || !/[1-9]/.test(text.split(/[eE]/)[0] ?? ''))) {
    return Number.isSafeInteger(n) || !/^-?\d+$/.test(text) ? n : text;
  }
  const d = toDecimal(text);
  const error = beyondNumeric(text, d);
  if (error !== undefined) throw error;
  return fromDecimal(d);
}

/**
 * SOURCE_BAD_RESPONSE when the JSON number `text` (read as `d`) is past PostgreSQL NUMERIC's
 * range: its exact decimal would be a string of up to 9e15 digits from a few bytes of JSON.
 */
export function beyondNumeric(text: string, d = toDecimal(text)): TributaryError | undefined {
  // decimal.js makes an exponent past 9e15 ±Infinity or 0: far past NUMERIC's range too.
  const lost = !d.isFinite() || (d.isZero() && /[1-9]/.test(text.split(/[eE]/)[0] ?? ''));
  if (!lost && d.e + 1 <= NUMERIC_INTEGER_DIGITS && d.decimalPlaces() <= NUMERIC_FRACTION_DIGITS) return undefined;
  const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  const message = `the JSON number ${shown} is past the range of a NUMERIC (${NUMERIC_INTEGER_DIGITS} digits before the point, ${NUMERIC_FRACTION_DIGITS} after)`;
  return new TributaryError('SOURCE_BAD_RESPONSE', message, { retryable: false, issues: [{ path: 'body', message }] });
}
