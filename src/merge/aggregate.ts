import type { Row } from '../data/row.js';
import { createAccumulator, numericAggregates, type Accumulator, type AggregateFn } from './accumulators.js';
import { assertUniqueColumns, mergeFailed } from '../data/fail.js';
import { namedIf, type Relation, type RelationResult } from './relation.js';
import { requireColumns } from './references.js';
import { getColumn, setColumn } from '../data/row.js';
import { groupKey } from '../data/values.js';
import { onePassAggregate, scanGroups } from './group-scan.js';

/** One aggregate: `fn` over `column` (optional only for `count`), output as `as`. */
export interface AggregateSpec {
  fn: AggregateFn;
  column?: string;
  as: string;
}

/** Each row's group (numbered in order of first appearance) and each group's first row. */
interface Groups {
  ids: Int32Array;
  firsts: number[];
}

/**
 * Numbers the groups. At most one group column whose values all have a primitive key is
 * keyed by the value itself (nulls as `null`); otherwise by `groupKey` strings.
 */
function groupRows(rows: readonly Row[], columns: readonly string[]): Groups {
  const ids = new Int32Array(rows.length);
  if (columns.length <= 1) {
    const scan = scanGroups(rows, columns[0], ids, undefined);
    if (scan !== undefined) return { ids, firsts: scan.groups.map((group) => group.first) };
  }
  const firsts: number[] = [];
  const table = new Map<string, number>();
  for (let i = 0; i < rows.length; i++) {
    const key = groupKey(rows[i] as Row, columns);
    let id = table.get(key);
    if (id === undefined) {
      id = firsts.length;
      table.set(key, id);
      firsts.push(i);
    }
    ids[i] = id;
  }
  return { ids, firsts };
}

/** The aggregates' results per group through the general accumulators. */
function accumulate(rows: readonly Row[], groups: Groups, aggregates: readonly AggregateSpec[], path: string): unknown[][] {
  const make = (): Accumulator[] => aggregates.map((a, i) => createAccumulator(a.fn, a.column, `${path}.aggregates[${i}]`));
  const accumulators = groups.firsts.map(make);
  if (accumulators.length === 0) accumulators.push(make());
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Row;
    for (const acc of accumulators[groups.ids[i] as number] as Accumulator[]) acc.add(row);
  }
  // Text is a property of the column, not of a group: one text value anywhere makes every
  // group's min / max order its strings as text (PostgreSQL's text column), decimal ones too.
  const textColumns = aggregates.map((_, k) => accumulators.some((accs) => accs[k]?.sawText?.() === true));
  return accumulators.map((accs) => accs.map((acc, k) => acc.result(textColumns[k])));
}

/** Groups, then the aggregates: on number columns by a specialized path, else the general one. */
function twoPasses(rows: readonly Row[], groupColumns: readonly string[], aggregates: readonly AggregateSpec[], path: string): { firsts: number[]; results: unknown[][] } {
  const groups = groupRows(rows, groupColumns);
  const groupCount = groupColumns.length === 0 ? 1 : groups.firsts.length;
  const results = numericAggregates(rows, groups.ids, groupCount, aggregates) ?? accumulate(rows, groups, aggregates, path);
  return { firsts: groups.firsts, results };
}

/**
 * Groups rows by `groupBy` (nulls form one group; groups in order of first appearance)
 * and computes the aggregates per group. Output rows hold the group columns (values from
 * the group's first row) then the aggregates. Without `groupBy` (or with `[]`) there is exactly one row,
 * even on an empty input (count 0, the others null); with it, an empty input gives none.
 */
export function aggregate(
  input: Relation,
  groupBy: readonly string[] | undefined,
  aggregates: readonly AggregateSpec[],
  path = 'aggregate',
): RelationResult {
  const groupColumns = groupBy ?? [];
  const columns = [...groupColumns, ...aggregates.map((a) => a.as)];
  assertUniqueColumns(columns, path);
  aggregates.forEach((a, i) => {
    if (a.column === undefined && a.fn !== 'count') {
      throw mergeFailed(`${path}.aggregates[${i}]`, `${a.fn} needs a column`);
    }
  });
  requireColumns(input, [
    ...groupColumns.map((column, i) => [column, `${path}.groupBy[${i}]`] as const),
    ...aggregates.flatMap((a, i) => (a.column === undefined ? [] : [[a.column, `${path}.aggregates[${i}].column`] as const])),
  ]);
  const rows = input.rows;
  // One group column or none (the common case): one pass, if the values allow; else two.
  const onePass = groupColumns.length <= 1 ? onePassAggregate(rows, groupColumns[0], aggregates) : undefined;
  const { firsts, results } = onePass ?? twoPasses(rows, groupColumns, aggregates, path);
  // A global aggregate still answers on no rows, as SQL's `SELECT count(*) FROM empty`.
  const groupCount = groupColumns.length === 0 ? 1 : firsts.length;
  const out: Row[] = new Array<Row>(groupCount);
  for (let g = 0; g < groupCount; g++) {
    const row: Row = {};
    const first = firsts[g];
    for (const column of groupColumns) setColumn(row, column, first === undefined ? null : (getColumn(rows[first] as Row, column) ?? null));
    const values = results[g] as unknown[];
    aggregates.forEach((a, i) => setColumn(row, a.as, values[i] ?? null));
    out[g] = row;
  }
  return { rows: out, columns, ...namedIf(input.named === true) };
}
