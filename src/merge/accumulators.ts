import { divideExact, divideToNumber, fromDecimal, isDecimalString, NUMBER_DIGITS, toDecimal, type ExactDecimal } from '../data/decimal.js';
import type { Row } from '../data/row.js';
import { compareTotal, isText } from '../data/compare.js';
import { scaledSums } from './scaled-sum.js';
import { NumberSummary, summaryResults, wantedColumns, type NumericSpec, type Want } from './number-summary.js';
import { mergeFailed } from '../data/fail.js';
import { getColumn, isNullish, isPlainRow } from '../data/row.js';

export type AggregateFn = 'count' | 'sum' | 'min' | 'max' | 'avg';

/** An aggregate's running state for one group. */
export interface Accumulator {
  add(row: Row): void;
  /**
   * The group's result. `textColumn` (min / max): whether the whole column, in any group,
   * held text; a group that saw only decimal strings then still orders them as text.
   */
  result(textColumn?: boolean): unknown;
  /** min / max: whether this group saw a text value (a string that is no decimal string). */
  sawText?(): boolean;
}

/**
 * Adds up a column exactly. Integers add as doubles while every partial sum is a safe
 * integer (the common case, and exact); anything else — a fraction, a decimal string, a
 * bigint, a partial sum beyond ±2^53 — moves the sum to decimal arithmetic, where a
 * number counts as its shortest decimal (`0.1` is one tenth, as the DECIMAL it came from).
 *
 * - `total()`: the exact sum as the values policy gives a decimal (a number up to 15
 *   significant digits, else the exact decimal string); a sum over binary floats (a number
 *   of more than 15 significant digits, which no DECIMAL gives) is rounded to a double.
 * - `mean()`: the exact quotient rounded once: to the nearest double, or, when the column
 *   held decimal strings, to 34 significant digits as the values policy gives it.
 * NaN and ±Infinity follow double arithmetic.
 */
function summer(column: string, path: string) {
  let count = 0;
  let int = 0;
  let exact: ExactDecimal | undefined;
  let special: number | undefined;
  let sawString = false;
  let sawFloat = false;
  const addExact = (value: number | bigint | string): void => {
    const d = toDecimal(value);
    // More digits than any DECIMAL the values policy gives as a number: a binary float.
    if (typeof value === 'number' && !Number.isSafeInteger(value) && d.sd() > NUMBER_DIGITS) sawFloat = true;
    exact = (exact ?? toDecimal(int)).plus(d);
  };
  return {
    add(value: unknown): void {
      if (isNullish(value)) return;
      if (typeof value === 'number') {
        if (exact === undefined && Number.isSafeInteger(value) && Number.isSafeInteger(int + value)) int += value;
        else if (!Number.isFinite(value)) special = (special ?? 0) + value;
        else addExact(value);
      } else if (typeof value === 'bigint') {
        addExact(value);
      } else if (typeof value === 'string' && isDecimalString(value)) {
        sawString = true;
        addExact(value);
      } else {
        const found = value instanceof Date ? 'Date' : typeof value;
        throw mergeFailed(path, `cannot add up column "${column}": found a ${found}, not a number`);
      }
      count++;
    },
    count: () => count,
    total(): number | string | null {
      if (count === 0) return null;
      if (special !== undefined) return special + (exact === undefined ? int : exact.toNumber());
      if (exact === undefined) return int;
      return sawFloat && !sawString ? exact.toNumber() : fromDecimal(exact);
    },
    mean(): number | string | null {
      if (count === 0) return null;
      if (special !== undefined) return (special + (exact === undefined ? int : exact.toNumber())) / count;
      if (exact === undefined) return int / count;
      return sawString ? divideExact(exact, count) : divideToNumber(exact, count);
    },
  };
}

/**
 * A fresh accumulator. Every function skips nulls: `count` without a column counts rows,
 * with one its non-null values; `sum` and `avg` of no values are null; `min` / `max` use
 * the total order of `compareTotal` (a text column's strings all as text) and return the
 * original value.
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
        result: () => (fn === 'sum' ? sum.total() : sum.mean()),
      };
    }
    case 'min':
    case 'max': {
      const direction = fn === 'min' ? 1 : -1;
      // The best value both ways until the column shows whether it is text (see compareTotal).
      let best: unknown = null;
      let bestText: unknown = null;
      let text = false;
      return {
        add: (row) => {
          const value = read(row);
          if (isNullish(value)) return;
          if (!text && isText(value)) text = true;
          if (best === null || compareTotal(value, best) * direction < 0) best = value;
          if (bestText === null || compareTotal(value, bestText, true) * direction < 0) bestText = value;
        },
        result: (textColumn) => ((textColumn ?? text) ? bestText : best),
        sawText: () => text,
      };
    }
    default:
      fn satisfies never;
      throw mergeFailed(path, `unknown aggregate function ${JSON.stringify(fn)}`);
  }
}

/**
 * One column summarized per group over `ids`, or `undefined` when a non-null value is not
 * a number, or, when a sum is wanted, when the sums could not be exact here: integers add
 * as doubles while every partial sum stays safe; fractions (a DECIMAL's cents) add as scaled
 * integers (scaled-sum.ts); anything else goes to the general accumulators, in decimal.
 */
function summarize(rows: readonly Row[], ids: Int32Array, groupCount: number, column: string, want: Want): NumberSummary | undefined {
  const summary = new NumberSummary(column, want, groupCount);
  const plain = summary.plain;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Row;
    let value = row[column];
    if (value !== undefined && !(plain && isPlainRow(row)) && !Object.hasOwn(row, column)) value = undefined;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'number') return undefined;
    summary.add(ids[i] as number, value);
  }
  if (!want.sum || summary.exactIntegerSums()) return summary;
  if (!summary.fractional) return undefined;
  // DECIMAL values (cents): exact sums as scaled integers, or the general path.
  summary.scaled = scaledSums(rows, ids, groupCount, column);
  return summary.scaled === undefined ? undefined : summary;
}

/**
 * The aggregates' results per group (`ids` numbers each row's group) when every aggregated
 * column holds only numbers and nulls (and every summed one only integers with safe
 * partial sums, or decimals that scaled-sum.ts adds exactly), computed column by column into
 * typed arrays without per-row allocation; `undefined` when some column holds anything
 * else. Same results as the accumulators of `createAccumulator` on such input.
 */
export function numericAggregates(
  rows: readonly Row[],
  ids: Int32Array,
  groupCount: number,
  aggregates: readonly NumericSpec[],
): unknown[][] | undefined {
  const wanted = wantedColumns(aggregates);
  if (wanted === undefined) return undefined;
  const summaries = new Map<string, NumberSummary>();
  for (const [column, want] of wanted) {
    const summary = summarize(rows, ids, groupCount, column, want);
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
  return summaryResults(aggregates, summaries, rowCounts, groupCount);
}
