import { isDecimalString, toDecimal, type ExactDecimal } from '../data/decimal.js';
import type { Row } from '../data/row.js';
import { compareTotal, isText } from '../data/compare.js';
import { compareText, hasHighUnits } from '../data/text-order.js';
import { namedIf, openIf, type Relation, type RelationResult } from './relation.js';
import { requireColumns } from './references.js';
import { isPlainRow, plainName } from '../data/row.js';

/** One sort key. `nulls` defaults as in PostgreSQL: last when ascending, first when descending. */
export interface SortKey {
  column: string;
  desc?: boolean;
  nulls?: 'first' | 'last';
}

/**
 * Sorts by several keys, stably (rows equal on every key keep their input order). Values
 * of different types order by type rank (boolean < number < string < others, see
 * `compareTotal`), so any column sorts without error. `nulls` placement does not flip
 * with `desc`.
 */
export function sort(input: Relation, by: readonly SortKey[], path = 'sort'): RelationResult {
  requireColumns(input, by.map((key, i) => [key.column, `${path}.by[${i}].column`] as const));
  const rows = input.rows;
  const keys = by.map((key) => ({
    direction: key.desc === true ? -1 : 1,
    nullsFirst: (key.nulls ?? (key.desc === true ? 'first' : 'last')) === 'first',
    // Read each sort value once per row (decorate) instead of once per comparison.
    ...extract(rows, key.column),
  }));
  // Sorting row indices (undecorated at the end): Array.prototype.sort is stable, and the
  // indices start in input order, so rows equal on every key keep their input order.
  let order: number[];
  const only = keys.length === 1 ? keys[0] : undefined;
  if (only !== undefined) {
    // One key: nulls all tie, so they are set aside (in input order) and placed at the end.
    const nulls: number[] = [];
    const present: number[] = [];
    const values = only.values;
    for (let i = 0; i < rows.length; i++) (values[i] === null || values[i] === undefined ? nulls : present).push(i);
    present.sort(indexComparator(only));
    order = only.nullsFirst ? nulls.concat(present) : present.concat(nulls);
  } else {
    order = Array.from({ length: rows.length }, (_, i) => i);
    const compares = keys.map((key) => {
      const compare = valueComparator(key);
      return { values: key.values, nullsFirst: key.nullsFirst, compare };
    });
    order.sort((a, b) => {
      for (const key of compares) {
        const x = key.values[a];
        const y = key.values[b];
        const xNull = x === null || x === undefined;
        const yNull = y === null || y === undefined;
        if (xNull || yNull) {
          if (xNull && yNull) continue;
          return xNull === key.nullsFirst ? -1 : 1;
        }
        const c = key.compare(x, y);
        if (c !== 0) return c;
      }
      return 0;
    });
  }
  const out = new Array<Row>(order.length);
  for (let i = 0; i < order.length; i++) out[i] = rows[order[i] as number] as Row;
  return { rows: out, columns: [...input.columns], ...namedIf(input.named === true), ...openIf(input.open === true) };
}

/**
 * What the non-null values of a sort column are: all numbers (no NaN), all strings with
 * some text among them (every string then sorts as text, decimal strings too), finite
 * numbers mixed with decimal strings (`values` then holds them as decimals), or anything.
 */
type Kind = 'number' | 'string' | 'decimal' | 'any';

interface Extracted {
  values: unknown[];
  kind: Kind;
  /** For `number` columns without infinities: the values as doubles (nulls as 0, never compared). */
  numbers: Float64Array | undefined;
  /** A text column: it holds a string that is no decimal string (see `compareTotal`). */
  text: boolean;
}

function extract(rows: readonly Row[], column: string): Extracted {
  const values = new Array<unknown>(rows.length);
  const plain = plainName(column);
  let numbers = true;
  let strings = true;
  let text = false;
  let finite = true;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Row;
    let value = row[column];
    if (value !== undefined && !(plain && isPlainRow(row)) && !Object.hasOwn(row, column)) value = undefined;
    values[i] = value;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'number' || value !== value) numbers = false;
    else if (value === Infinity || value === -Infinity) finite = false;
    if (typeof value !== 'string') strings = false;
    // One string that is no decimal string makes the column text: its decimal strings too
    // sort as text. Without one, a decimal string sorts as the number it spells.
    else if (!text && isText(value)) text = true;
  }
  if (!numbers) {
    if (strings && text) return { values, kind: 'string', numbers: undefined, text };
    if (text) return { values, kind: 'any', numbers: undefined, text };
    // Numbers mixed with decimal strings: each value read as a decimal once, not per comparison.
    const decimals = asDecimals(values);
    return decimals === undefined ? { values, kind: 'any', numbers: undefined, text } : { values: decimals, kind: 'decimal', numbers: undefined, text };
  }
  if (!finite) return { values, kind: 'number', numbers: undefined, text };
  const doubles = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const value = values[i];
    if (typeof value === 'number') doubles[i] = value;
  }
  return { values, kind: 'number', numbers: doubles, text };
}

/**
 * The values as exact decimals (nulls kept) when every other one is a finite number, a
 * bigint or a decimal string; `undefined` otherwise. Decimals order as `compareTotal` orders
 * those values.
 */
function asDecimals(values: readonly unknown[]): unknown[] | undefined {
  const out = new Array<unknown>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) out[i] = v;
    else if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'bigint' || (typeof v === 'string' && isDecimalString(v))) out[i] = toDecimal(v);
    else return undefined;
  }
  return out;
}

/** `compareTotal` times the direction, specialized for number, string and decimal columns. */
function valueComparator(key: Extracted & { direction: number }): (x: unknown, y: unknown) => number {
  const direction = key.direction;
  if (key.kind === 'decimal') return (x, y) => (x as ExactDecimal).cmp(y as ExactDecimal) * direction;
  if (key.kind === 'number') return (x, y) => ((x as number) < (y as number) ? -direction : (x as number) > (y as number) ? direction : 0);
  if (key.kind === 'string') {
    // Code units order as code points unless strings hold units ≥ U+D800 (data/text-order.ts).
    if (key.values.some((v) => typeof v === 'string' && hasHighUnits(v))) return (x, y) => compareText(x as string, y as string) * direction;
    return (x, y) => ((x as string) < (y as string) ? -direction : (x as string) > (y as string) ? direction : 0);
  }
  const text = key.text;
  return direction === 1 ? (x, y) => compareTotal(x, y, text) : (x, y) => compareTotal(y, x, text);
}

/** A comparator of row indices on one key whose values there are all non-null. */
function indexComparator(key: Extracted & { direction: number }): (a: number, b: number) => number {
  const doubles = key.numbers;
  // Finite, no NaN: the difference orders them (0 - -0 is 0: equal, as in compareTotal).
  if (doubles !== undefined) return key.direction === 1 ? (a, b) => (doubles[a] as number) - (doubles[b] as number) : (a, b) => (doubles[b] as number) - (doubles[a] as number);
  const compare = valueComparator(key);
  const values = key.values;
  return (a, b) => compare(values[a], values[b]);
}
