import type { AggregateFn } from './accumulators.js';
import { scaledMean, scaledTotal, type ScaledSums } from './scaled-sum.js';

/** What the aggregates want of one column. */
export interface Want {
  min: boolean;
  max: boolean;
  sum: boolean;
}

/** An aggregate as the number paths see it: a function over a column (none: `count(*)`). */
export interface NumericSpec {
  fn: AggregateFn;
  column?: string;
}

const FUNCTIONS: ReadonlySet<string> = new Set<AggregateFn>(['count', 'sum', 'min', 'max', 'avg']);

/**
 * Each aggregated column and what is wanted of it, or `undefined` for a function the number
 * paths do not know.
 */
export function wantedColumns(aggregates: readonly NumericSpec[]): Map<string, Want> | undefined {
  const wanted = new Map<string, Want>();
  for (const a of aggregates) {
    if (!FUNCTIONS.has(a.fn)) return undefined;
    if (a.column === undefined) continue;
    const want = wanted.get(a.column) ?? { min: false, max: false, sum: false };
    if (a.fn === 'min') want.min = true;
    if (a.fn === 'max') want.max = true;
    if (a.fn === 'sum' || a.fn === 'avg') want.sum = true;
    wanted.set(a.column, want);
  }
  return wanted;
}

/** `value` comes before `best` in `compareTotal` order on numbers: NaN is above every other number. */
export function isBelow(value: number, best: number): boolean {
  return value < best || (best !== best && value === value);
}

/** `value` comes after `best` in `compareTotal` order on numbers. */
export function isAbove(value: number, best: number): boolean {
  return value > best || (value !== value && best === best);
}

/**
 * Per group of one number column: non-null values, their sum (in row order, as the general
 * `summer`), min and max (`isBelow` / `isAbove`; of equal values the first one stays). With
 * `want.sum` it also tracks what decides whether the double sums are exact: the sum of
 * |value| over all groups (it bounds every partial sum of every group) and whether any value
 * was not an integer.
 */
export class NumberSummary {
  readonly plain: boolean;
  readonly count: Float64Array;
  readonly sum: Float64Array;
  readonly min: Float64Array | undefined;
  readonly max: Float64Array | undefined;
  /** Exact sums of decimal fractions as scaled integers, when the double sums were not exact. */
  scaled: ScaledSums | undefined;
  magnitude = 0;
  fractional = false;
  private readonly wantSum: boolean;

  constructor(
    readonly column: string,
    want: Want,
    groupCount: number,
  ) {
    this.plain = !(column in Object.prototype);
    this.wantSum = want.sum;
    this.count = new Float64Array(groupCount);
    this.sum = new Float64Array(groupCount);
    this.min = want.min ? new Float64Array(groupCount) : undefined;
    this.max = want.max ? new Float64Array(groupCount) : undefined;
  }

  /** Adds a non-null number to group `g`. */
  add(g: number, value: number): void {
    if (this.wantSum) {
      if (Number.isInteger(value)) this.magnitude += value < 0 ? -value : value;
      else this.fractional = true;
    }
    const seen = this.count[g] as number;
    this.count[g] = seen + 1;
    this.sum[g] = (this.sum[g] as number) + value;
    const min = this.min;
    if (min !== undefined && (seen === 0 || isBelow(value, min[g] as number))) min[g] = value;
    const max = this.max;
    if (max !== undefined && (seen === 0 || isAbove(value, max[g] as number))) max[g] = value;
  }

  /** True when the plain double sums are exact: integers whose partial sums all stay safe. */
  exactIntegerSums(): boolean {
    return !this.fractional && this.magnitude <= Number.MAX_SAFE_INTEGER;
  }
}

/**
 * The aggregates' results per group from the column summaries (`rowCounts`: rows per group,
 * for `count(*)`). Same results as the accumulators of `createAccumulator` on such input.
 */
export function summaryResults(
  aggregates: readonly NumericSpec[],
  summaries: ReadonlyMap<string, NumberSummary>,
  rowCounts: Float64Array | undefined,
  groupCount: number,
): unknown[][] {
  const results: unknown[][] = new Array<unknown[]>(groupCount);
  for (let g = 0; g < groupCount; g++) {
    results[g] = aggregates.map((a) => {
      if (a.column === undefined) return rowCounts?.[g] ?? 0;
      const s = summaries.get(a.column) as NumberSummary;
      const n = s.count[g] as number;
      switch (a.fn) {
        case 'count':
          return n;
        case 'sum':
          if (n === 0) return null;
          return s.scaled === undefined ? s.sum[g] : scaledTotal(s.scaled.sums[g] as number, s.scaled.scale);
        case 'avg':
          if (n === 0) return null;
          return s.scaled === undefined ? (s.sum[g] as number) / n : scaledMean(s.scaled.sums[g] as number, s.scaled.scale, n);
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
