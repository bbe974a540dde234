/**
 * The order of text: by code point, which is UTF-8 byte order — how PostgreSQL's
 * COLLATE "C", MariaDB/MySQL's `_bin` collations and SQLite's BINARY order strings. JS's
 * `<` compares UTF-16 code units instead, and the two differ in one place: a character
 * beyond U+FFFF (a surrogate pair, U+D800–U+DFFF: '😀', '𝒜') against one in U+E000–U+FFFF
 * ('Ａ', private use), which code units put first and code points last.
 */

/** A code unit at or above U+D800: only where both strings hold one can the orders differ. */
const HIGH = /[\uD800-\uFFFF]/;

/** True when `text` holds a code unit at or above U+D800 (see `compareText`). */
export function hasHighUnits(text: string): boolean {
  return HIGH.test(text);
}

/** Negative, zero or positive as `a` comes before, with or after `b` in code point order. */
export function compareText(a: string, b: string): number {
  if (a === b) return 0;
  if (!HIGH.test(a) || !HIGH.test(b)) return a < b ? -1 : 1;
  return compareCodePoints(a, b);
}

/** `compareText` without the shortcut: the first differing code units, surrogates lifted above U+FFFF. */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n) return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
  return lift(a.charCodeAt(i)) < lift(b.charCodeAt(i)) ? -1 : 1;
}

/** A code unit's rank in code point order: surrogates above U+E000–U+FFFF, the rest as they are. */
function lift(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}
