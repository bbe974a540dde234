import fc from 'fast-check';

/**
 * The data of the PostgreSQL-oracle fuzz: three tables of typed columns whose values sit on
 * the edges of the values policy (integers around ±2^53 and ±2^63, NUMERIC(40,12) with up to
 * 40 digits, text that only a byte-order collation orders right, dates and timestamps,
 * nulls everywhere). Values are written as their canonical text; `policyValue` turns that
 * text into what tributary must return (README, "The values policy").
 */

export type ColType = 'int' | 'big' | 'num' | 'text' | 'bool' | 'date' | 'ts';
export type SourceKind = 'pg' | 'my' | 'lite' | 'mem';
export type TableName = 'ta' | 'tb' | 'tc';
/** A cell: canonical text, a boolean, or null. */
export type Cell = string | boolean | null;
export type TableRows = Record<string, Cell>[];

export const TABLES: Record<TableName, { columns: [string, ColType][]; on: SourceKind[] }> = {
  ta: { columns: [['id', 'int'], ['k', 'big'], ['d', 'num'], ['s', 'text']], on: ['pg', 'my', 'lite', 'mem'] },
  tb: { columns: [['id', 'int'], ['k', 'big'], ['s', 'text'], ['dt', 'date'], ['ts', 'ts']], on: ['pg', 'my', 'lite', 'mem'] },
  // MariaDB and SQLite have no boolean type (a TINYINT(1) stays a number), so tc lives where one is.
  tc: { columns: [['id', 'int'], ['d', 'num'], ['b', 'bool'], ['s', 'text'], ['dt', 'date'], ['ts', 'ts']], on: ['pg', 'mem'] },
};
export const TABLE_NAMES = Object.keys(TABLES) as TableName[];

/** Whether two column types compare with each other (joins, binds, unions). */
export const family = (t: ColType): string => (t === 'int' || t === 'big' || t === 'num' ? 'number' : t);

export const INTS = ['0', '1', '2', '3', '-1'];
export const BIGS = ['0', '1', '-1', '4503599627370496', '9007199254740991', '9007199254740992', '9007199254740993', '-9007199254740993', '9223372036854775807', '-9223372036854775808'];
/** At most 15 significant digits: what SQLite's REAL keeps exactly. */
export const SHORT_NUMS = ['0', '1', '-1', '0.1', '0.2', '0.3', '12.5', '-12.5', '0.000000000001', '3.333333333333', '123456789012.345'];
export const NUMS = [...SHORT_NUMS, '1234567890123456.789', '1234567890123456.788', '9999999999999999999999999999.999999999999', '-9999999999999999999999999999.999999999999', '100000000000000000', '0.333333333333', '9007199254740993'];
export const TEXTS = ['', 'a', 'A', 'b', 'a ', ' a', 'é', 'e\u0301', 'Ａ', '😀', 'ß', '10', '9', 'z', "o'k"];
export const DATES = ['2020-01-01', '2020-01-02', '1999-12-31', '2024-02-29', '1000-01-01'];
export const TSS = ['2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.001Z', '1999-12-31T23:59:59.999Z', '2024-02-29T12:30:00.000Z'];

export const POOLS: Record<Exclude<ColType, 'bool'>, string[]> = { int: INTS, big: BIGS, num: NUMS, text: TEXTS, date: DATES, ts: TSS };

const nullable = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(arb, { nil: null, freq: 5 });

function cellArb(type: ColType, short: boolean): fc.Arbitrary<Cell> {
  if (type === 'bool') return nullable(fc.boolean());
  return nullable(fc.constantFrom(...(type === 'num' && short ? SHORT_NUMS : POOLS[type])));
}

/** Rows of one table on `source` (SQLite gets only decimals it can hold). */
export function rowsArb(table: TableName, source: SourceKind, maxRows: number): fc.Arbitrary<TableRows> {
  const shape: Record<string, fc.Arbitrary<Cell>> = {};
  for (const [name, type] of TABLES[table].columns) {
    // Wide tables: ids spread out, so joins of hundreds of rows stay hundreds of rows.
    shape[name] = name === 'id' && maxRows > 50 ? nullable(fc.integer({ min: 0, max: maxRows }).map(String)) : cellArb(type, source === 'lite');
  }
  // Mostly a few rows, sometimes none.
  const few = fc.oneof({ arbitrary: fc.constant<TableRows>([]), weight: 1 }, { arbitrary: fc.array(fc.record(shape), { minLength: 2, maxLength: maxRows }), weight: 6 });
  return maxRows > 50 ? fc.array(fc.record(shape), { maxLength: maxRows, minLength: maxRows / 2 }) : few;
}

export interface World {
  placement: Record<TableName, SourceKind>;
  rows: Record<TableName, TableRows>;
}

/** Tables of up to `maxRows` rows (over 50: at least half that, ≥ 256 rows taking the compiled row builders). */
export const worldArb = (maxRows = 7): fc.Arbitrary<World> =>
  fc
    .record({ ta: fc.constantFrom(...TABLES.ta.on), tb: fc.constantFrom(...TABLES.tb.on), tc: fc.constantFrom(...TABLES.tc.on) })
    .chain((placement) =>
      fc.record({ ta: rowsArb('ta', placement.ta, maxRows), tb: rowsArb('tb', placement.tb, maxRows), tc: rowsArb('tc', placement.tc, maxRows) }).map((rows) => ({ placement, rows })),
    );

/** Decimal text without trailing fraction zeros, `-0` as `0`. */
export function canonicalDecimal(text: string): string {
  let t = text.trim();
  if (t.includes('.')) t = t.replace(/0+$/, '').replace(/\.$/, '');
  if (/^-0*(\.0*)?$/.test(t)) return '0';
  const negative = t.startsWith('-');
  const body = (negative ? t.slice(1) : t).replace(/^0+(?=\d)/, '');
  return negative ? `-${body}` : body;
}

/** Significant digits of canonical decimal text. */
export const significantDigits = (text: string): number => {
  const digits = text.replace(/[-.]/g, '').replace(/^0+/, '');
  return text.includes('.') ? digits.length : digits.replace(/0+$/, '').length;
};

/** What tributary must return for a number spelled `text`: a number when a double holds it exactly, else the canonical string. */
export function policyNumber(text: string): number | string {
  const c = canonicalDecimal(text);
  if (!c.includes('.')) return Number.isSafeInteger(Number(c)) ? Number(c) : c;
  return significantDigits(c) <= 15 ? Number(c) : c;
}

/** The value tributary must return for a cell of `type`. */
export function policyValue(type: ColType, cell: Cell): unknown {
  if (cell === null) return null;
  if (type === 'int' || type === 'big' || type === 'num') return policyNumber(String(cell));
  return cell;
}
