import { parse as parseExactly } from 'lossless-json';

/** A run of 16 digits: the only text in which a JSON number can be an integer beyond ±2^53. */
const LONG_DIGITS = /\d{16}/;

/**
 * A response body parsed as JSON, its integers beyond ±2^53 kept as their exact decimal
 * strings, as the values policy gives every source's integers (a 64-bit id from an API
 * must still find its row when it is bound into PostgreSQL). JSON.parse would round them to
 * the nearest double. Other numbers, fractions included, are JSON.parse's doubles: that is
 * what an API that prints them most likely meant. The exact parse (lossless-json) runs only
 * on a text with a run of 16 digits; any other body is JSON.parse alone. As with JSON.parse,
 * the last of duplicate keys wins and `__proto__` is an own key, never a prototype.
 */
export function parseJsonBody(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (!LONG_DIGITS.test(text)) return value;
  return parseExactly(text, null, { parseNumber: exactInteger, onDuplicateKey: ({ newValue }) => newValue });
}

/** A number's text as the values policy reads an integer: a number when safe, else its exact text. */
function exactInteger(text: string): number | string {
  const n = Number(text);
  if (Number.isSafeInteger(n) || !/^-?\d+$/.test(text)) return n;
  return text;
}
