import { parse as parseExactly } from 'lossless-json';

/** A run of 16 digits: the only text in which a JSON number can be an integer beyond ±2^53. */
const LONG_DIGITS = /\d{16}/;

/**
 * JSON text parsed — an HTTP response body, a json / jsonb / MySQL JSON value — its integers
 * beyond ±2^53 kept as their exact decimal strings, as the values policy gives every
 * source's integers (a 64-bit id from an API or a JSON column must still find its row when
 * it is bound into another database). JSON.parse would round them to the nearest double. Other numbers, fractions included, are JSON.parse's doubles: that is
 * what an API that prints them most likely meant. The exact parse (lossless-json, ~5× slower)
 * runs only when JSON.parse met such an integer; any other body costs JSON.parse (and, when
 * it has a run of 16 digits somewhere, a walk of the parsed value). As with JSON.parse,
 * the last of duplicate keys wins and `__proto__` is an own key, never a prototype.
 */
export function parseJsonBody(text: string): unknown {
  const value: unknown = JSON.parse(text);
  // Digits in strings (phone numbers, long ids as text) are no reason for the slower parse:
  // only a number JSON.parse could not hold exactly is (a walk costs a fifth of the parse).
  if (!LONG_DIGITS.test(text) || !hasUnsafeInteger(value)) return value;
  return parseExactly(text, null, { parseNumber: exactInteger, onDuplicateKey: ({ newValue }) => newValue });
}

/** Whether a parsed value holds an integer beyond ±2^53 (one that was rounded), anywhere. */
function hasUnsafeInteger(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'number') {
      if (Number.isInteger(v) && !Number.isSafeInteger(v)) return true;
    } else if (typeof v === 'object' && v !== null) {
      if (Array.isArray(v)) for (let i = 0; i < v.length; i++) stack.push(v[i]);
      else for (const key of Object.keys(v)) stack.push((v as Record<string, unknown>)[key]);
    }
  }
  return false;
}

/** A number's text as the values policy reads an integer: a number when safe, else its exact text. */
function exactInteger(text: string): number | string {
  const n = Number(text);
  if (Number.isSafeInteger(n) || !/^-?\d+$/.test(text)) return n;
  return text;
}
