import { parse as parseLossless } from 'lossless-json';
import { exactValue } from '../data/decimal.js';
import { beyondNumeric } from '../data/json.js';

/** A number past NUMERIC's range in a JSON text the command line reads (see `parseExactJson`). */
export class JsonNumberRangeError extends SyntaxError {}

/**
 * JSON text as the command line reads it (a plan file, a sources file, a `--param` value):
 * as `JSON.parse` would, except that its numbers follow the values policy, as a database
 * gives them: an integer beyond ±2^53 or a decimal of more than 15 significant digits is
 * its exact decimal string (`9007199254740993` stays `'9007199254740993'`, not the double
 * 9007199254740992), every other number a `number`. Throws what `JSON.parse` throws on text
 * that is not JSON, and a `JsonNumberRangeError` for a number past PostgreSQL NUMERIC's range
 * (`1e50000000`: its exact decimal would take 50 MB and half a minute to write out). As with
 * `JSON.parse`, the last of duplicate keys wins and `__proto__` is an own key, never a prototype.
 */
export function parseExactJson(text: string): unknown {
  // JSON.parse decides what is JSON (and its error); the second parse keeps the numbers exact.
  const value: unknown = JSON.parse(text);
  try {
    return parseLossless(text, null, { parseNumber: exactNumber, onDuplicateKey: ({ newValue }) => newValue });
  } catch (error) {
    if (error instanceof JsonNumberRangeError) throw error;
    // lossless-json recurses: a text nested deeper than its stack (which no plan limit admits)
    // is JSON.parse's value, so the plan's own check reports it by its nesting.
    return value;
  }
}

function exactNumber(text: string): number | string {
  const beyond = beyondNumeric(text);
  if (beyond !== undefined) throw new JsonNumberRangeError(beyond.message);
  return exactValue(text);
}

/**
 * The text of a JSON file as read: UTF-8, its byte order mark ignored (Windows Notepad,
 * PowerShell's `-Encoding UTF8` write one; RFC 8259 lets a parser ignore it), or UTF-16 when
 * the file starts with a UTF-16 mark (PowerShell 5's `>` writes UTF-16LE). JSON.parse would
 * call the mark an unexpected character at line 1, column 1 — one nobody can see.
 */
export function jsonFileText(bytes: Buffer): string {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return bytes.toString('utf8', 3);
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.toString('utf16le', 2);
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return Buffer.from(bytes.subarray(2, bytes.length - (bytes.length % 2))).swap16().toString('utf16le');
  return bytes.toString('utf8');
}
