import { isDecimalString } from '../data/decimal.js';
import type { Row } from '../data/row.js';
import { printable } from './printable.js';

/** Output formats of `tributary run`. */
export const ROW_FORMATS = ['table', 'json', 'ndjson', 'csv'] as const;
export type RowFormat = (typeof ROW_FORMATS)[number];

/**
 * Rows as text in one of the formats. Values are made JSON-safe first: a bigint becomes a
 * number when it is a safe integer, else its decimal string; a Buffer or other byte array
 * becomes base64; a Date its ISO string; `undefined`, NaN and ±Infinity become null.
 *
 * - `json`: one array of objects, pretty-printed.
 * - `ndjson`: one object per line.
 * - `csv`: RFC 4180: a header row, CRLF line ends, a field quoted (quotes doubled) when it
 *   holds `"`, `,`, CR or LF; null is an empty field; objects and arrays are JSON text.
 *   Nothing at all when there are no columns.
 * - `table`: aligned columns for a terminal, long cells cut, then `(N rows)` (only that when there are no columns).
 */
export function formatRows(rows: readonly Row[], columns: readonly string[], format: RowFormat): string {
  const cols = columns.length > 0 ? columns : columnsOf(rows);
  switch (format) {
    case 'json':
      return `${JSON.stringify(rows.map(jsonSafe), null, 2)}\n`;
    case 'ndjson':
      return rows.map((row) => `${JSON.stringify(jsonSafe(row))}\n`).join('');
    case 'csv':
      // No columns (a failed fragment's partial result, PostgreSQL's `SELECT FROM t`): no record to write.
      // An empty line would be a header naming one column "" and a row of one empty field per row.
      if (cols.length === 0) return '';
      return [cols.map(csvField).join(','), ...rows.map((row) => cols.map((c) => csvField(csvValue(row[c]))).join(','))].map((l) => `${l}\r\n`).join('');
    case 'table':
      return table(rows, cols);
    default:
      return format satisfies never;
  }
}

/** The columns of rows without a declared list: every key, in order of first appearance. */
export function columnsOf(rows: readonly Row[]): string[] {
  const seen = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) seen.add(key);
  return [...seen];
}

/** A value with every non-JSON type replaced (see formatRows). */
export function jsonSafe(value: unknown): unknown {
  switch (typeof value) {
    case 'bigint':
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'undefined':
    case 'function':
    case 'symbol':
      return null;
    case 'object': {
      if (value === null) return null;
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
      if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
      if (Array.isArray(value)) return value.map(jsonSafe);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        Object.defineProperty(out, k, { value: jsonSafe(v), enumerable: true, configurable: true, writable: true });
      }
      return out;
    }
    default:
      return value;
  }
}

function csvValue(value: unknown): string {
  const safe = jsonSafe(value);
  if (safe === null) return '';
  if (typeof safe === 'object') return JSON.stringify(safe);
  return String(safe);
}

/** One RFC 4180 field. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const MAX_CELL = 60;

function table(rows: readonly Row[], cols: readonly string[]): string {
  const count = `(${rows.length} ${rows.length === 1 ? 'row' : 'rows'})`;
  // No columns: no grid (it would be blank lines), only the count.
  if (cols.length === 0) return `${count}\n`;
  const cells = rows.map((row) => cols.map((c) => cellText(row[c])));
  // Column names come from the data too: shown as the cells are.
  const header = cols.map((c) => printable(c));
  // A loop, not Math.max(...cells): one argument per row overflows the stack at ~125k rows.
  const widths = header.map((c) => c.length);
  for (const r of cells) r.forEach((text, i) => (widths[i] = Math.max(widths[i]!, text.length)));
  // Numbers align right; so do decimal strings (exact DECIMAL values beyond a double's digits).
  const isNumber = (v: unknown): boolean => v === null || v === undefined || typeof v === 'number' || typeof v === 'bigint' || (typeof v === 'string' && isDecimalString(v));
  const numeric = cols.map((c) => rows.length > 0 && rows.every((row) => isNumber(row[c])));
  const line = (values: readonly string[]): string =>
    values.map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join(' | ').trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('-+-'), ...cells.map(line), count];
  return `${out.join('\n')}\n`;
}

function cellText(value: unknown): string {
  const safe = jsonSafe(value);
  let text: string;
  if (safe === null) text = 'NULL';
  else if (typeof safe === 'object') text = JSON.stringify(safe);
  else text = String(safe);
  // Control characters would break the grid (and could drive the terminal).
  text = printable(text);
  return text.length > MAX_CELL ? `${text.slice(0, MAX_CELL - 1)}…` : text;
}
