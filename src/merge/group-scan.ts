import type { Row } from '../data/row.js';
import { isPlainRow, plainName } from '../data/row.js';
import { NO_KEY, primitiveKeyRead, type PrimitiveKey } from '../data/values.js';
import { isAbove, isBelow, NumberSummary, summaryResults, wantedColumns, type NumericSpec, type Want } from './number-summary.js';

/** One group's running state: its rows, and the non-null values of the summarized column. */
class Group {
  rows = 0;
  count = 0;
  sum = 0;
  min = 0;
  max = 0;

  constructor(
    readonly id: number,
    readonly first: number,
  ) {}
}

/** The column a scan summarizes per group, and what is wanted of it. */
interface Summarized {
  column: string;
  want: Want;
}

/** The groups in order of first appearance and, over the summarized values, what decides whether the double sums are exact. */
interface Scan {
  groups: Group[];
  /** The sum of |value| over all groups: it bounds every partial sum of every group. */
  magnitude: number;
  fractional: boolean;
  /** How many direct-index slots the scan allocated (none unless a key was a small integer). */
  directSlots: number;
}

/**
 * One pass over the rows. Numbers the groups of one group column (`undefined`: one group
 * of all rows) by the values' primitive keys (nulls and missing columns as `null`), records
 * each row's group in `ids` when given and, with `summarized`, counts, adds up (in row
 * order) and finds the min and max of that column's values per group, as `NumberSummary`
 * does. `undefined` when a group value has no primitive key (the caller then keys every
 * value by `groupKey`, which gives the same groups) or a summarized value is not a number.
 */
export function scanGroups(
  rows: readonly Row[],
  column: string | undefined,
  ids: Int32Array | undefined,
  summarized: Summarized | undefined,
): Scan | undefined {
  const all = column === undefined && rows.length > 0 ? new Group(0, 0) : undefined;
  const table = new Map<PrimitiveKey | null, Group>();
  const name = summarized?.column;
  const want = summarized?.want;
  const direct = new DirectIndex(all === undefined ? Math.min(rows.length, DIRECT) : 0);
  const found = scanRows(rows, ids, table, direct, all, column ?? '', plainName(column ?? ''), name, plainName(name ?? ''), want?.sum === true, want?.min === true, want?.max === true);
  if (found === NOT_NUMBERS) return undefined;
  // A Map iterates in insertion order: the groups in order of first appearance.
  const groups = all === undefined ? [...table.values()] : [all];
  return { groups, magnitude: found === FRACTIONAL ? Infinity : found, fractional: found === FRACTIONAL, directSlots: direct.slots.length };
}

/**
 * The array of `DIRECT` lookups, made on the first small-integer key: a group-by on strings
 * (or a global aggregate) never allocates it, where it was up to 65,536 slots a call.
 */
class DirectIndex {
  /** Filled with `undefined`, not left holey: every call's array then has the same elements kind. */
  slots: (Group | undefined)[] = EMPTY;

  constructor(readonly limit: number) {}

  /** The slots, made now if they were not. */
  made(): (Group | undefined)[] {
    if (this.slots === EMPTY) this.slots = new Array<Group | undefined>(this.limit).fill(undefined);
    return this.slots;
  }
}

const EMPTY: (Group | undefined)[] = [];

/**
 * Group keys that are integers in [0, DIRECT) find their group by index in an array rather
 * than by hashing into the `Map` (a group-by's ids, codes, small counts): the hashing was
 * about a sixth of bench row c's aggregate (1M rows, 1,000 groups). Every group is in the
 * `Map` too, which alone says which groups exist and in what order; the array only caches
 * the lookup, so a key a bigint reached first (`1n` before `1`) is found there.
 */
const DIRECT = 65_536;

/** The group of key `k` in `table`, made (numbered next, `first` its first row) if new. */
function groupOf(table: Map<PrimitiveKey | null, Group>, k: PrimitiveKey | null, first: number): Group {
  let group = table.get(k);
  if (group === undefined) {
    group = new Group(table.size, first);
    table.set(k, group);
  }
  return group;
}

/** `scanRows` results other than the magnitude of the summarized integers. */
const FRACTIONAL = -1;
const NOT_NUMBERS = -2;

/**
 * The loop of `scanGroups`, in a function of its own that does nothing but loop: V8 may
 * compile it while it runs its first (long) call, before any code outside the loop has
 * run, so code there would have no type feedback and deoptimize the next call. For the
 * same reason no array is pushed to here: each call's fresh array starts with small-integer
 * elements, which code compiled on the last call's array does not expect.
 * Returns the sum of |value| over the summarized integers (it bounds every partial sum of
 * every group), `FRACTIONAL` when a summarized value was not an integer, `NOT_NUMBERS` when
 * a group value has no primitive key or a summarized value is not a number. Nothing is
 * allocated per row, and a number key goes to the `Map` as the very value read.
 */
function scanRows(
  rows: readonly Row[],
  ids: Int32Array | undefined,
  table: Map<PrimitiveKey | null, Group>,
  direct: DirectIndex,
  all: Group | undefined,
  key: string,
  plainKey: boolean,
  name: string | undefined,
  plainValue: boolean,
  wantSum: boolean,
  wantMin: boolean,
  wantMax: boolean,
): number {
  let magnitude = 0;
  let fractional = false;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Row;
    let group = all;
    if (group === undefined) {
      const raw = row[key];
      if (typeof raw === 'number' && ((plainKey && isPlainRow(row)) || Object.hasOwn(row, key))) {
        // -0 indexes as 0, the key the Map gives it.
        const index = raw | 0;
        if (index === raw && index >= 0 && index < direct.limit) {
          const slots = direct.made();
          group = slots[index] ?? (slots[index] = groupOf(table, raw, i));
        }
        else group = groupOf(table, raw, i);
      } else {
        const k = primitiveKeyRead(row, key, plainKey, raw);
        if (k === NO_KEY) return NOT_NUMBERS;
        group = groupOf(table, k, i);
      }
    }
    if (ids !== undefined) ids[i] = group.id;
    group.rows++;
    if (name === undefined) continue;
    let value = row[name];
    if (value !== undefined && !(plainValue && isPlainRow(row)) && !Object.hasOwn(row, name)) value = undefined;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'number') return NOT_NUMBERS;
    if (wantSum) {
      if (Number.isInteger(value)) magnitude += value < 0 ? -value : value;
      else fractional = true;
    }
    const seen = group.count;
    group.count = seen + 1;
    group.sum += value;
    if (wantMin && (seen === 0 || isBelow(value, group.min))) group.min = value;
    if (wantMax && (seen === 0 || isAbove(value, group.max))) group.max = value;
  }
  return fractional ? FRACTIONAL : magnitude;
}

/**
 * The aggregate in one pass over the rows, for the common case: at most one group column,
 * whose values all have primitive keys, and aggregates over at most one column, of numbers
 * whose sums are exact as doubles (integers, every partial sum safe). Groups in order of
 * first appearance, as `groupRows`. `undefined` otherwise; the general path then gives the
 * answer, the same it would give here.
 */
export function onePassAggregate(
  rows: readonly Row[],
  column: string | undefined,
  aggregates: readonly NumericSpec[],
): { firsts: number[]; results: unknown[][] } | undefined {
  const wanted = wantedColumns(aggregates);
  if (wanted === undefined || wanted.size > 1) return undefined;
  const summarized = [...wanted].map(([name, want]) => ({ column: name, want }))[0];
  const scan = scanGroups(rows, column, undefined, summarized);
  if (scan === undefined) return undefined;
  // Sums beyond the safe integers or over fractions: the general path's exact arithmetic.
  if (summarized?.want.sum === true && (scan.fractional || scan.magnitude > Number.MAX_SAFE_INTEGER)) return undefined;
  // A global aggregate has its one group even without rows.
  const groupCount = column === undefined ? 1 : scan.groups.length;
  const rowCounts = new Float64Array(groupCount);
  const summaries = new Map<string, NumberSummary>();
  const summary = summarized && new NumberSummary(summarized.column, summarized.want, groupCount);
  if (summary !== undefined) summaries.set(summary.column, summary);
  for (const group of scan.groups) {
    const g = group.id;
    rowCounts[g] = group.rows;
    if (summary === undefined) continue;
    summary.count[g] = group.count;
    summary.sum[g] = group.sum;
    if (summary.min !== undefined) summary.min[g] = group.min;
    if (summary.max !== undefined) summary.max[g] = group.max;
  }
  return { firsts: scan.groups.map((group) => group.first), results: summaryResults(aggregates, summaries, rowCounts, groupCount) };
}
