/**
 * The value semantics of DESIGN.md, written out plainly for the reference evaluator. Nothing
 * here comes from src/merge: equality, ordering and three-valued logic are re-derived from
 * the documented rules so that the fuzzer compares two independent implementations.
 */

export type Row = Record<string, unknown>;

/** A failure the reference expects the engine to report as MERGE_FAILED (or a fragment failure). */
export class RefFailure extends Error {}

/** SQL NULL: null, or undefined for a column the row does not have. */
export function isNull(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

/** A column read as an own property only; `constructor` and `__proto__` are ordinary names. */
export function own(row: Row, column: string): unknown {
  return Object.prototype.hasOwnProperty.call(row, column) ? row[column] : undefined;
}

/** Writes a column as an own data property, whatever its name. */
export function put(row: Row, column: string, value: unknown): void {
  Object.defineProperty(row, column, { value, enumerable: true, writable: true, configurable: true });
}

function isNumeric(value: unknown): value is number | bigint {
  return typeof value === 'number' || typeof value === 'bigint';
}

/** An integral number as the integer its shortest decimal spells (`2 ** 60` → 1152921504606847000n). */
function shortestInteger(n: number): bigint {
  const [mantissa = '', exponent = '0'] = String(n).split('e');
  const [int = '', frac = ''] = mantissa.split('.');
  return BigInt(`${int}${frac}`) * 10n ** BigInt(Number(exponent) - frac.length);
}

function numbersEqual(a: number | bigint, b: number | bigint): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || (Number.isNaN(a) && Number.isNaN(b));
  const x = typeof a === 'bigint' ? a : Number.isInteger(a) ? shortestInteger(a) : undefined;
  const y = typeof b === 'bigint' ? b : Number.isInteger(b) ? shortestInteger(b) : undefined;
  return x !== undefined && x === y;
}

/**
 * Equality of two non-null values as join, group-by, distinct, `eq` and `in` use it:
 * numbers by value (NaN equals NaN, -0 equals 0), strings and booleans exactly, a string
 * never equals a number, arrays and objects structurally (object key order ignored).
 */
export function same(a: unknown, b: unknown): boolean {
  if (isNumeric(a) && isNumeric(b)) return numbersEqual(a, b);
  if (typeof a !== typeof b) return false;
  if (typeof a === 'string' || typeof a === 'boolean') return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!nullOrSame(a[i], b[i])) return false;
    return true;
  }
  if (typeof a === 'object' && a !== null && b !== null) {
    const ka = Object.keys(a);
    const kb = Object.keys(b as object);
    if (ka.length !== kb.length) return false;
    for (const key of ka) {
      if (!Object.prototype.hasOwnProperty.call(b, key)) return false;
      if (!nullOrSame((a as Row)[key], (b as Row)[key])) return false;
    }
    return true;
  }
  return false;
}

/** Equality where two nulls are equal (grouping, distinct, nested values). */
export function nullOrSame(a: unknown, b: unknown): boolean {
  if (isNull(a) || isNull(b)) return isNull(a) && isNull(b);
  return same(a, b);
}

/** SQL `<`: negative, zero, positive, or undefined (UNKNOWN) for nulls and unlike types. */
export function compareSql(a: unknown, b: unknown): number | undefined {
  if (isNull(a) || isNull(b)) return undefined;
  if (isNumeric(a) && isNumeric(b)) {
    const x = Number(a);
    const y = Number(b);
    // NaN is the greatest number and equals itself, as in PostgreSQL.
    if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y) ? 0 : Number.isNaN(x) ? 1 : -1;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'string' && typeof b === 'string') return codePointOrder(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return undefined;
}

function rank(value: unknown): number {
  if (typeof value === 'boolean') return 0;
  if (isNumeric(value)) return 1;
  if (typeof value === 'string') return 2;
  return 5;
}

/** The total order of sort, min and max: boolean < number < string < anything else. */
export function compareTotal(a: unknown, b: unknown): number {
  const r = rank(a) - rank(b);
  if (r !== 0) return Math.sign(r);
  const c = compareSql(a, b);
  if (c !== undefined) return Math.sign(c);
  // Objects and arrays (JSON columns, nested rows) order by their JSON text with object
  // keys sorted, so two equal documents written in another key order are equal here too.
  const x = canonicalJson(a);
  const y = canonicalJson(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** JSON text with object keys sorted at every depth (undefined members dropped, as JSON does). */
function canonicalJson(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || value === undefined || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') return canonicalJson(withJson.toJSON());
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
}

/** Column names in order of first appearance over all rows (rows need not share a shape). */
export function columnsOf(rows: readonly Row[]): string[] {
  const out: string[] = [];
  for (const row of rows) for (const key of Object.keys(row)) if (!out.includes(key)) out.push(key);
  return out;
}

/** A fresh row with exactly `columns`, missing ones null. */
export function pick(row: Row, columns: readonly string[]): Row {
  const out: Row = {};
  for (const column of columns) put(out, column, own(row, column) ?? null);
  return out;
}

export function isFromRef(value: unknown): value is { $from: string; column: string } {
  return typeof value === 'object' && value !== null && typeof (value as { $from?: unknown }).$from === 'string' && typeof (value as { column?: unknown }).column === 'string';
}

export function isParamRef(value: unknown): value is { $param: string } {
  return typeof value === 'object' && value !== null && typeof (value as { $param?: unknown }).$param === 'string';
}

/** Every `$from` / `$param` reference under `value`, depth first in document order, with its path. */
export function refsIn(value: unknown, path: (string | number)[] = [], out: { path: (string | number)[]; ref: unknown }[] = []) {
  if (isFromRef(value) || isParamRef(value)) {
    out.push({ path, ref: value });
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => refsIn(item, [...path, i], out));
  } else if (typeof value === 'object' && value !== null) {
    for (const key of Object.keys(value)) refsIn((value as Row)[key], [...path, key], out);
  }
  return out;
}

/** A copy of `value` with the value at `path` replaced; the original is untouched. */
export function setAt(value: unknown, path: readonly (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = value.slice();
    copy[head as number] = setAt(value[head as number], rest, replacement);
    return copy;
  }
  const copy: Row = { ...(value as Row) };
  put(copy, String(head), setAt((value as Row)[String(head)], rest, replacement));
  return copy;
}

/**
 * The column names a source call declares besides its rows (the engine's `withColumns`):
 * a SQLite statement's columns; a memory query's projected columns, or its table's when
 * no row matched. A merge leaf takes them, else the rows' keys.
 */
export const DECLARED: unique symbol = Symbol('declared columns');
type Declared = Row[] & { [DECLARED]?: string[] };

export function declare(rows: Row[], columns: string[] | undefined): Row[] {
  if (columns !== undefined) (rows as Declared)[DECLARED] = columns;
  return rows;
}

export function declaredColumns(rows: readonly Row[]): string[] | undefined {
  return (rows as Declared)[DECLARED];
}

/** Text by code point (PostgreSQL's COLLATE "C"), spelt out: code point by code point. */
function codePointOrder(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0) as number);
  const y = Array.from(b, (c) => c.codePointAt(0) as number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] as number) < (y[i] as number) ? -1 : 1;
  return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
}
