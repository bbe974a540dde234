/**
 * The values policy: how a database value becomes a JS value in a row. It is the same for
 * every SQL source (PostgreSQL, MariaDB/MySQL, SQLite), so a merge or cache key never
 * depends on which database a column came from.
 *
 * | Database type                                   | JS value                                              |
 * |-------------------------------------------------|-------------------------------------------------------|
 * | integers (int2/int4/int8, INT, BIGINT, BIGINT UNSIGNED) | `number` when `Number.isSafeInteger`, else the exact decimal `string` |
 * | numeric / DECIMAL                               | a `number` when it is a safe integer or a fraction of at most 15 significant digits (a double holds those exactly: `12.50` → `12.5`), else the exact decimal `string` in canonical form (`'12345678901234567.5'`: no exponent, no trailing zeros). The merge tree treats such a string as the number it spells and adds decimals exactly (data/decimal.ts), so sums of money are exact to the cent. PostgreSQL's `NaN`, `Infinity`, `-Infinity` are the numbers NaN, ±Infinity |
 * | real / double / FLOAT / DOUBLE                  | `number` (a single-precision FLOAT is the shortest decimal that round-trips: `1.1`, not `1.100000023841858`) |
 * | boolean                                         | `true` / `false`; MySQL `TINYINT(1)`/`BOOLEAN` stays a `number` (the wire type cannot tell it from a tiny integer) |
 * | DATE                                            | `'YYYY-MM-DD'` (no time zone, no Date object)          |
 * | timestamp / timestamptz / DATETIME / TIMESTAMP  | ISO 8601 in UTC, `toISOString()` form: `'2024-01-02T03:04:05.123Z'`; sub-millisecond digits are truncated. A value without a zone (PostgreSQL `timestamp`, MySQL `DATETIME`) is read as UTC; MySQL sessions run with `time_zone = '+00:00'` so `TIMESTAMP` and `NOW()` are UTC too. Values a JS Date cannot hold (`infinity`, MySQL's zero date `0000-00-00 00:00:00`) stay the server's text |
 * | json / jsonb / MySQL JSON                       | the parsed value, its integers beyond ±2^53 exact decimal strings (as above). MariaDB's JSON is an alias of LONGTEXT: JSON columns and JSON functions arrive parsed because MariaDB ≥ 10.5.2 marks them in its extended column metadata, but an expression that drops the mark (`IFNULL(doc, '{}')`, `CONCAT(...)`, a LONGTEXT column) arrives as a `string` |
 * | bytea / BLOB / BINARY / VARBINARY / BIT         | `Buffer`                                              |
 * | arrays (PostgreSQL)                             | JS arrays whose elements follow this table             |
 * | NULL                                            | `null`                                                 |
 * | anything else (time, interval, uuid, enum, ...) | the driver's default, usually the server's text (a PostgreSQL interval always: `'1 day 02:00:00'`) |
 *
 * The helpers below are pure, so every connector (and the SQLite connector with
 * better-sqlite3's `safeIntegers`) applies the same rules.
 */

import { exactValue, plainNumberText } from '../../data/decimal.js';
import { parseJsonBody } from '../../data/json.js';

/** An integer as a JS number when it is safe, else its exact decimal string. */
export function normalizeInteger(value: number | bigint | string): number | string {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) || !Number.isInteger(value)) return value;
    // Precision is already lost by whoever produced this number; the string keeps the type
    // consistent with the other unsafe integers, spelt as equality reads the number.
    return plainNumberText(value);
  }
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (!/^[+-]?\d+$/.test(value)) return value;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : BigInt(value).toString();
}

/**
 * A numeric/decimal value: a number when it is a safe integer or a fraction of at most 15
 * significant digits (every such decimal survives the round trip through a double), else its
 * exact decimal string in canonical form (see `exactValue`): an integer beyond ±2^53 is
 * always its string. PostgreSQL's `NaN` and `±Infinity` are the JS numbers NaN and ±Infinity.
 */
export function normalizeDecimal(value: number | bigint | string): number | string {
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value) ? plainNumberText(value) : value;
  return exactValue(typeof value === 'bigint' ? value.toString() : value);
}

/**
 * A single-precision float as the shortest decimal that maps to the same float32, which is
 * what PostgreSQL prints for `real`; drivers that decode FLOAT as binary give its double value.
 */
export function normalizeFloat32(value: number): number {
  if (!Number.isFinite(value) || Math.fround(value) !== value) return value;
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

/** A DATE as `'YYYY-MM-DD'`; a Date object is read in UTC. */
export function normalizeDate(value: string | Date): string {
  if (typeof value === 'string') return value;
  return Number.isNaN(value.getTime()) ? String(value) : value.toISOString().slice(0, 10);
}

// 'YYYY-MM-DD HH:MM:SS[.fraction][+HH[:MM[:SS]] | Z][ BC]', with a space or a T.
const TIMESTAMP =
  /^(\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?)?( BC)?$/;

/**
 * A timestamp as an ISO 8601 UTC string (`toISOString()` form). Text without a zone is read
 * as UTC; text a JS Date cannot represent (`infinity`, zero dates) is returned unchanged.
 */
export function normalizeTimestamp(value: string | Date): string {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? String(value) : value.toISOString();
  const m = TIMESTAMP.exec(value);
  if (m === null) return value;
  const [, y, mo, d, h, mi, s, fraction = '', , sign, oh = '0', om = '0', os = '0', bc] = m;
  let year = Number(y);
  if (bc !== undefined) year = 1 - year; // 1 BC is year 0 in ISO 8601
  const month = Number(mo) - 1;
  const day = Number(d);
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  date.setUTCFullYear(year, month, day);
  date.setUTCHours(Number(h), Number(mi), Number(s), Number(fraction.padEnd(3, '0').slice(0, 3)));
  // A zero date or day 31 of a 30-day month would roll over; keep the server's text instead.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month || date.getUTCDate() !== day) return value;
  if (sign !== undefined) {
    const offsetMs = ((Number(oh) * 60 + Number(om)) * 60 + Number(os)) * 1000;
    date.setTime(date.getTime() - (sign === '-' ? -offsetMs : offsetMs));
  }
  return Number.isNaN(date.getTime()) ? value : date.toISOString();
}

/**
 * A JSON document sent as text (or bytes) parsed, its integers beyond ±2^53 kept as exact
 * decimal strings (data/json.ts); anything else is returned unchanged.
 */
export function parseJsonValue(value: unknown): unknown {
  if (typeof value === 'string') return parseJsonBody(value);
  if (Buffer.isBuffer(value)) return parseJsonBody(value.toString('utf8'));
  return value;
}

/** Applies `fn` to every leaf of a (possibly nested) array, keeping nulls. */
export function mapArrayDeep(value: unknown, fn: (leaf: string) => unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => mapArrayDeep(item, fn));
  return typeof value === 'string' ? fn(value) : value;
}
