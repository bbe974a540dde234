import { parse as parseLossless } from 'lossless-json';
import { exactValue } from '../data/decimal.js';

/**
 * JSON text as the command line reads it (a plan file, a sources file, a `--param` value):
 * as `JSON.parse` would, except that its numbers follow the values policy, as a database
 * gives them: an integer beyond ±2^53 or a decimal of more than 15 significant digits is
 * its exact decimal string (`9007199254740993` stays `'9007199254740993'`, not the double
 * 9007199254740992), every other number a `number`. Throws what `JSON.parse` throws on text
 * that is not JSON. As with `JSON.parse`, the last of duplicate keys wins and `__proto__` is
 * an own key, never a prototype.
 */
export function parseExactJson(text: string): unknown {
  // JSON.parse decides what is JSON (and its error); the second parse keeps the numbers exact.
  const value: unknown = JSON.parse(text);
  try {
    return parseLossless(text, null, { parseNumber: exactValue, onDuplicateKey: ({ newValue }) => newValue });
  } catch {
    // lossless-json recurses: a text nested deeper than its stack (which no plan limit admits)
    // is JSON.parse's value, so the plan's own check reports it by its nesting.
    return value;
  }
}

/**
 * The text of a JSON file without the UTF-8 byte order mark some editors put first (Windows
 * Notepad, PowerShell's `-Encoding UTF8`): RFC 8259 lets a parser ignore it, and JSON.parse
 * would call it an unexpected character at line 1, column 1 — one nobody can see.
 */
export function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
