import type { Row } from '../sources/source.js';
import { createAccumulator, type Accumulator, type AggregateFn } from './accumulators.js';
import { assertUniqueColumns, mergeFailed } from './fail.js';
import type { Relation, RelationResult } from './relation.js';
import { getColumn, setColumn } from './row.js';
import { groupKey } from './values.js';

/** One aggregate: `fn` over `column` (optional only for `count`), output as `as`. */
export interface AggregateSpec {
  fn: AggregateFn;
  column?: string;
  as: string;
}

interface Group {
  first: Row;
  accumulators: Accumulator[];
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
  const start = (first: Row): Group => ({
    first,
    accumulators: aggregates.map((a, i) => createAccumulator(a.fn, a.column, `${path}.aggregates[${i}]`)),
  });
  const groups = new Map<string, Group>();
  for (const row of input.rows) {
    const key = groupKey(row, groupColumns);
    let group = groups.get(key);
    if (group === undefined) {
      group = start(row);
      groups.set(key, group);
    }
    for (const acc of group.accumulators) acc.add(row);
  }
  // A global aggregate still answers on no rows, as SQL's `SELECT count(*) FROM empty`.
  if (groupColumns.length === 0 && groups.size === 0) groups.set('', start({}));
  const rows = [...groups.values()].map((group): Row => {
    const out: Row = {};
    for (const column of groupColumns) setColumn(out, column, getColumn(group.first, column) ?? null);
    aggregates.forEach((a, i) => setColumn(out, a.as, group.accumulators[i]?.result() ?? null));
    return out;
  });
  return { rows, columns };
}
