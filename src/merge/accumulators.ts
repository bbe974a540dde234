import type { Row } from '../data/row.js';
import { compareTotal } from './compare.js';
import { mergeFailed } from './fail.js';
import { getColumn, isNullish, isPlainRow, plainName } from './row.js';

export type AggregateFn = 'count' | 'sum' | 'min' | 'max' | 'avg';

/** An aggregate's running state for one group. */
export interface Accumulator {
  add(row: Row): void;
  result(): unknown;
}

const MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** A bigint as a number when that loses nothing, else the bigint itself. */
const narrow = (n: bigint): number | bigint => (n <= MAX && n >= -MAX ? Number(n) : n);

/**
 * Sums numbers as numbers and bigints exactly (drivers return BIGINT columns as bigint),
 * then narrows the total to a number when it is a safe integer.
 */
function summer(column: string, path: string) {
  let count = 0;
  let num = 0;
  let big = 0n;
  let sawNumber = false;
  let sawBig = false;
  return {
    add(value: unknown): void {
      if (isNullish(value)) return;
      if (typeof value === 'number') {
        num += value;
        sawNumber = true;
      } else if (typeof value === 'bigint') {
        big += value;
        sawBig = true;
      } else {
        const found = value instanceof Date ? 'Date' : typeof value;
        throw mergeFailed(path, `cannot add up column "${column}": found a ${found}, not a number`);
      }
      count++;
    },
    count: () => count,
    total(): number | bigint | null {
      if (count === 0) return null;
      if (!sawBig) return num;
      if (!sawNumber) return narrow(big);
      return Number.isSafeInteger(num) ? narrow(big + BigInt(num)) : Number(big) + num;
    },
  };
}

/**
 * A fresh accumulator. Every function skips nulls: `count` without a column counts rows,
 * with one its non-null values; `sum` and `avg` of no values are null; `min` / `max` use
 * the total order of `compareTotal` and return the original value.
 */
export function createAccumulator(fn: AggregateFn, column: string | undefined, path: string): Accumulator {
  const read = (row: Row): unknown => (column === undefined ? undefined : getColumn(row, column));
  if (column === undefined && fn !== 'count') throw mergeFailed(path, `${fn} needs a column`);
  switch (fn) {
    case 'count': {
      let n = 0;
      return {
        add: (row) => {
          if (column === undefined || !isNullish(read(row))) n++;
        },
        result: () => n,
      };
    }
    case 'sum':
    case 'avg': {
      const sum = summer(column ?? '', path);
      return {
        add: (row) => sum.add(read(row)),
        result: () => {
          const total = sum.total();
          return fn === 'sum' || total === null ? total : Number(total) / sum.count();
        },
      };
    }
    case 'min':
    case 'max': {
      const direction = fn === 'min' ? 1 : -1;
      let best: unknown = null;
      return {
        add: (row) => {
          const value = read(row);
          if (isNullish(value)) return;
          if (best === null || compareTotal(value, best) * direction < 0) best = value;
        },
        result: () => best,
      };
    }
    default:
      fn satisfies never;
      throw mergeFailed(path, `unknown aggregate function ${JSON.stringify(fn)}`);
  }
}

const FUNCTIONS: ReadonlySet<string> = new Set<AggregateFn>(['count', 'sum', 'min', 'max', 'avg']);

interface NumericSpec {
  fn: AggregateFn;
  column?: string;
}

/** Per group: non-null values, their sum (in row order, as `summer`), min and max. */
interface Summary {
  count: Float64Array;
  sum: Float64Array;
  min: Float64Array | undefined;
  max: Float64Array | undefined;
}

/**
 * Summarizes one column per group, or `undefined` when a non-null value is not a number
 * (the general accumulators then take over). Min and max follow `compareTotal` on numbers:
 * NaN is above every other number, and of equal values the first one stays.
 */
function summarize(rows: readonly Row[], ids: Int32Array, groupCount: number, column: string, wantMin: boolean, wantMax: boolean): Summary | undefined {
  const count = new Float64Array(groupCount);
  const sum = new Float64Array(groupCount);
  const min = wantMin ? new Float64Array(groupCount) : undefined;
  const max = wantMax ? new Float64Array(groupCount) : undefined;
  const plain = plainName(column);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Row;
    let value = row[column];
    if (value !== undefined && !(plain && isPlainRow(row)) && !Object.hasOwn(row, column)) value = undefined;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'number') return undefined;
    const g = ids[i] as number;
    const seen = count[g] as number;
    count[g] = seen + 1;
    sum[g] = (sum[g] as number) + value;
    if (min !== undefined) {
      const best = min[g] as number;
      if (seen === 0 || value < best || (best !== best && value === value)) min[g] = value;
    }
    if (max !== undefined) {
      const best = max[g] as number;
      if (seen === 0 || value > best || (value !== value && best === best)) max[g] = value;
    }
  }
  return { count, sum, min, max };
}

/**
 * The aggregates' results per group (`ids` numbers each row's group) when every aggregated
 * column holds only numbers and nulls, computed column by column into typed arrays without
 * per-row allocation; `undefined` when some column holds anything else. Same results as
 * the accumulators of `createAccumulator` on such input.
 */
export function numericAggregates(
  rows: readonly Row[],
  ids: Int32Array,
  groupCount: number,
  aggregates: readonly NumericSpec[],
): unknown[][] | undefined {
  const wanted = new Map<string, { min: boolean; max: boolean }>();
  for (const a of aggregates) {
    if (!FUNCTIONS.has(a.fn)) return undefined;
    if (a.column === undefined) continue;
    const want = wanted.get(a.column) ?? { min: false, max: false };
    if (a.fn === 'min') want.min = true;
    if (a.fn === 'max') want.max = true;
    wanted.set(a.column, want);
  }
  const summaries = new Map<string, Summary>();
  for (const [column, want] of wanted) {
    const summary = summarize(rows, ids, groupCount, column, want.min, want.max);
    if (summary === undefined) return undefined;
    summaries.set(column, summary);
  }
  let rowCounts: Float64Array | undefined;
  if (aggregates.some((a) => a.column === undefined)) {
    rowCounts = new Float64Array(groupCount);
    for (let i = 0; i < rows.length; i++) {
      const g = ids[i] as number;
      rowCounts[g] = (rowCounts[g] as number) + 1;
    }
  }
  const results: unknown[][] = new Array<unknown[]>(groupCount);
  for (let g = 0; g < groupCount; g++) {
    results[g] = aggregates.map((a) => {
      if (a.column === undefined) return rowCounts?.[g] ?? 0;
      const s = summaries.get(a.column) as Summary;
      const n = s.count[g] as number;
      switch (a.fn) {
        case 'count':
          return n;
        case 'sum':
          return n === 0 ? null : s.sum[g];
        case 'avg':
          return n === 0 ? null : (s.sum[g] as number) / n;
        case 'min':
          return n === 0 ? null : s.min?.[g];
        case 'max':
          return n === 0 ? null : s.max?.[g];
        default:
          return undefined;
      }
    });
  }
  return results;
}
