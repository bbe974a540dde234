import mysql, { type TypedParameterValue } from 'mysql2';
import { plainNumberText } from '../../data/decimal.js';
import { listKind } from '../../data/list-kind.js';

/**
 * The binary-protocol type each bound value goes as, so that a bound value behaves as the
 * same value written as a literal in the SQL would. mysql2 sends a JS number as a DOUBLE and
 * a bigint as text, so the server computes `? + 0`, `? * 3` and `col + ?` in doubles (a value
 * past 2^53 comes back rounded, `? * 3` of `0.1` is `0.30000000000000004`) and compares
 * `decimal_col IN (?, ?)` of such values as doubles, matching neighbouring rows.
 *
 * - a bigint, or a number that is an integer (its shortest decimal, as the values policy
 *   reads a number beyond 2^53), goes as the integer literal the server would type it:
 *   BIGINT from -2^63 to 2^63-1, BIGINT UNSIGNED up to 2^64-1, DECIMAL beyond (up to
 *   DECIMAL's 65 digits; a longer one as the DOUBLE such a literal is);
 * - a number with a fraction goes as the DECIMAL of its shortest decimal (`0.1` is `0.1`, as
 *   the literal `0.1` is a DECIMAL), or as a DOUBLE when DECIMAL cannot hold that text (more
 *   than 65 digits or 38 after the point: `1e-40`, as a literal would be written `1e-40`);
 * - anything else as mysql2 sends it; a string stays text, a decimal string too, as its
 *   quoted literal (`'9007199254740993'`) would: it compares exactly with a BIGINT or DECIMAL
 *   column, and with a VARCHAR as text, through its index (its arithmetic is in doubles).
 *
 * Compared with a VARCHAR column, an integer is compared as a number (MariaDB does so
 * exactly: `'09007199254740993'` matches 9007199254740993), a DECIMAL as a double, as their
 * literals are.
 */
export function exactParam(value: unknown): unknown {
  if (typeof value === 'bigint') return integerParam(value);
  if (typeof value !== 'number' || !Number.isFinite(value)) return value;
  const text = plainNumberText(value);
  if (Number.isInteger(value)) return integerParam(BigInt(text));
  return fitsDecimal(text) ? mysql.TypedParameter.NEWDECIMAL(text) : value;
}

/**
 * A list's values as the server should compare them: as a list of literals. A list holding a
 * number or a bigint came from a numeric column (a `$from` of a BIGINT or NUMERIC column gives
 * numbers and, beyond what a double holds, decimal strings): when all its values are numbers,
 * bigints and decimal strings, every one goes as the number literal it spells, its decimal
 * strings too (`[7, '9007199254740993']` as `IN (7, 9007199254740993)`): bound as they come,
 * an integer and a string would make the server compare the whole list as doubles. A list of
 * decimal strings only goes as text, as its quoted literals (a VARCHAR column's codes compare
 * as text, through its index), unless one has a fraction: then as numbers, because MariaDB
 * compares a DECIMAL column with a list of two strings or more as doubles (which an integer
 * text list still meets there). Any other list goes value by value (`exactParam`). A chunk of
 * a batched list goes as its whole list would (data/list-kind.ts), in this process or on a
 * remote worker: a chunk of decimal strings only, cut from a list that holds a number, is
 * number literals too.
 */
export function exactList(list: readonly unknown[]): readonly unknown[] {
  switch (listKind(list)) {
    case 'text':
      return list;
    case 'numbers':
      return list.map((v) => (typeof v === 'string' ? decimalParam(v) : exactParam(v)));
    case 'values':
      return list.map(exactParam);
  }
}

/** A decimal string as the number literal it spells. */
function decimalParam(text: string): unknown {
  if (!text.includes('.')) return integerParam(BigInt(text));
  return fitsDecimal(text) ? mysql.TypedParameter.NEWDECIMAL(text) : text;
}

const MIN_BIGINT = -(2n ** 63n);
const MAX_UNSIGNED = 2n ** 64n - 1n;

/** An integer as its literal's type: BIGINT, BIGINT UNSIGNED, DECIMAL, or (past 65 digits) DOUBLE. */
function integerParam(n: bigint): TypedParameterValue | number {
  if (n >= MIN_BIGINT && n < 2n ** 63n) return mysql.TypedParameter.LONGLONG(n);
  if (n >= 0n && n <= MAX_UNSIGNED) return mysql.TypedParameter.LONGLONG.unsigned(n);
  const text = String(n);
  return fitsDecimal(text) ? mysql.TypedParameter.NEWDECIMAL(text) : Number(n);
}

/** Whether a plain decimal text fits DECIMAL: at most 65 digits, at most 38 of them after the point. */
function fitsDecimal(text: string): boolean {
  const digits = text.replace(/^-/, '');
  const point = digits.indexOf('.');
  const scale = point < 0 ? 0 : digits.length - point - 1;
  return scale <= 38 && digits.length - (point < 0 ? 0 : 1) <= 65;
}
