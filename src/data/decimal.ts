import { Decimal } from 'decimal.js';

/**
 * Exact numbers (DECIMAL / NUMERIC, and integers beyond ±2^53) in rows. The values policy
 * (sources/sql/normalize.ts) gives such a value as a JS `number` when the number prints as
 * exactly the database's value (at most 15 significant digits: `12.50` → `12.5`), else as
 * its exact decimal text in canonical form: plain notation, no `+`, no leading zeros, no
 * trailing zeros after the point (`'12345678901234567.5'`). Such a string is a *decimal
 * string*; the merge tree treats it as the number it spells (equality, join and group keys,
 * comparisons, sort, min/max, sum/avg), so a column mixing numbers and decimal strings
 * behaves as one numeric column. Arithmetic on them goes through decimal.js.
 */

/** Exact for sums: decimal.js rounds every result to `precision` significant digits. */
const Exact = Decimal.clone({ precision: 1e9, rounding: Decimal.ROUND_HALF_EVEN, toExpNeg: -9e15, toExpPos: 9e15 });
export type ExactDecimal = InstanceType<typeof Exact>;

/** Significant digits a double always reproduces exactly (DBL_DIG). */
export const NUMBER_DIGITS = 15;

const CANONICAL = /^-?(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/;
const PLAIN = /^[+-]?(\d*)(?:\.(\d*))?$/;
/** PostgreSQL's spellings of the NUMERIC values that are no finite decimal. */
const SPECIAL = new Map([
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
]);

/** Significant digits of an unsigned plain decimal `int.frac`. */
function significantDigits(int: string, frac: string): number {
  return `${int}${frac}`.replace(/^0+/, '').replace(/0+$/, '').length;
}

/**
 * True when `value` is a decimal string: the canonical text of a number that a double
 * cannot hold exactly (more than 15 significant digits, or an integer beyond ±2^53).
 * Text like `'12.5'`, `'007'` or `'1e3'` is not one: it stays text.
 */
export function isDecimalString(value: string): boolean {
  // Sixteen characters at least: 16 significant digits, or an integer ≥ 2^53.
  if (value.length < 16 || !CANONICAL.test(value)) return false;
  const point = value.indexOf('.');
  const int = value.slice(value[0] === '-' ? 1 : 0, point < 0 ? undefined : point);
  const frac = point < 0 ? '' : value.slice(point + 1);
  // An integer is a number exactly when it is safe; a fraction when it has ≤ 15 digits.
  if (frac === '') return !Number.isSafeInteger(Number(int));
  return significantDigits(int, frac) > NUMBER_DIGITS;
}

/**
 * A database's decimal text as the values policy gives it: a number when it is a safe
 * integer or a fraction of at most 15 significant digits (and a double's range holds it),
 * else the canonical decimal string. An integer beyond ±2^53 is always its string, even
 * with few significant digits (`1234567890123450000`), as the same value from a BIGINT is:
 * a double would hold it, but the integers around it that it must join, filter and add up
 * with exactly are strings.
 * PostgreSQL's special NUMERIC values `NaN`, `Infinity` and `-Infinity` are the JS numbers
 * they name, as a float8 gives them, so they sort, compare and add up as numbers; other text
 * that is no finite decimal is returned unchanged.
 */
export function exactValue(text: string): number | string {
  const special = SPECIAL.get(text);
  if (special !== undefined) return special;
  const match = PLAIN.exec(text);
  if (match !== null && text.length <= 40 && significantDigits(match[1] ?? '', match[2] ?? '') <= NUMBER_DIGITS) {
    const n = Number(text);
    // At most 15 digits and beyond 2^53: an integer (a fraction would need more digits).
    if (Number.isFinite(n) && Math.abs(n) <= Number.MAX_SAFE_INTEGER) return Object.is(n, -0) ? 0 : n;
  }
  let d: ExactDecimal;
  try {
    d = new Exact(text.trim());
  } catch {
    return text;
  }
  if (!d.isFinite()) return text;
  return fromDecimal(d);
}

/** A decimal as the values policy gives it (see `exactValue`). */
export function fromDecimal(d: ExactDecimal): number | string {
  const text = d.isZero() ? '0' : d.toFixed();
  if (d.isInteger()) return d.abs().lte(Number.MAX_SAFE_INTEGER) ? Number(text) : text;
  if (d.sd() <= NUMBER_DIGITS) {
    const n = Number(text);
    if (Number.isFinite(n) && (n !== 0 || d.isZero()) && new Exact(n).eq(d)) return n;
  }
  return text;
}

/**
 * A number, bigint or decimal string as an exact decimal. A number is its shortest decimal,
 * integers beyond ±2^53 too (`1.23456789012345e18` is `1234567890123450000`, not the binary
 * value `1234567890123449856`), as equality keys read it (`valueKey`).
 */
export function toDecimal(value: number | bigint | string): ExactDecimal {
  if (typeof value === 'bigint') return new Exact(value.toString());
  // decimal.js reads a number through its shortest round-trip text.
  return new Exact(value);
}

/** The exact sum's starting value. */
export function zeroDecimal(): ExactDecimal {
  return new Exact(0);
}

/** Compares a number, bigint or decimal string with another exactly (no NaN here). */
export function compareExact(a: number | bigint | string, b: number | bigint | string): number {
  return toDecimal(a).cmp(toDecimal(b));
}

/** Quotients: to 34 significant digits (IEEE decimal128's precision), rounded half to even. */
const Quotient = Decimal.clone({ precision: 34, rounding: Decimal.ROUND_HALF_EVEN, toExpNeg: -9e15, toExpPos: 9e15 });
/** Quotients on their way to a double: more digits than a double has, then rounded once more by `Number`. */
const Wide = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_EVEN });

/** `a / n` correctly rounded to 34 significant digits, as the values policy gives it. */
export function divideExact(a: ExactDecimal, n: number): number | string {
  return fromDecimal(new Exact(Quotient.div(a, n)));
}

/** `a / n` as the nearest double (computed to 40 digits, then rounded to a double). */
export function divideToNumber(a: ExactDecimal, n: number): number {
  return Wide.div(a, n).toNumber();
}

/** The significant digits of a finite number's shortest decimal form (`0.1` → 1). */
export function numberDigits(n: number): number {
  return new Exact(n).sd();
}

/** A number's key text for equality: its shortest decimal in plain notation (`1e-7` → `0.0000001`). */
export function plainNumberText(n: number): string {
  const text = String(n);
  return text.includes('e') ? new Exact(n).toFixed() : text;
}
