import type { Row } from '../sources/source.js';
import { compareTotal } from './compare.js';
import { mergeFailed } from './fail.js';
import { getColumn, isNullish } from './row.js';

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
