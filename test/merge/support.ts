import type { Row } from '../../src/data/row.js';
import { createAccumulator } from '../../src/merge/accumulators.js';
import type { AggregateSpec } from '../../src/merge/aggregate.js';
import { groupKey } from '../../src/data/values.js';
import { columnsOf, type Relation } from '../../src/merge/relation.js';

/** Freezes rows and the array deeply enough that any mutation by an operator throws. */
export function frozen(rows: Row[]): Row[] {
  return Object.freeze(rows.map((row) => Object.freeze(row))) as Row[];
}

/** A relation over frozen rows, with columns as a leaf would have them. */
export function rel(rows: Row[]): Relation {
  return { rows: frozen(rows), columns: columnsOf(rows) };
}

/** The definition: groups by `groupKey`, in order of first appearance, through the accumulators. */
export function refAggregate(rows: Row[], groupBy: readonly string[], specs: AggregateSpec[]): Row[] {
  const groups = new Map<string, { first: Row; accs: ReturnType<typeof createAccumulator>[] }>();
  for (const row of rows) {
    const key = groupKey(row, groupBy);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { first: row, accs: specs.map((s) => createAccumulator(s.fn, s.column, 'x')) }));
    for (const acc of group.accs) acc.add(row);
  }
  // A column with text in any group is a text column in every group (min / max).
  const text = specs.map((_, i) => [...groups.values()].some((g) => g.accs[i]!.sawText?.() === true));
  return [...groups.values()].map((g) => {
    const out: Row = {};
    for (const c of groupBy) out[c] = g.first[c] ?? null;
    specs.forEach((s, i) => (out[s.as] = g.accs[i]!.result(text[i]) ?? null));
    return out;
  });
}

/** Every aggregate function over column `v` (and a row count), as the merge tests compare them. */
export const specs: AggregateSpec[] = [
  { fn: 'count', as: 'n' },
  { fn: 'count', column: 'v', as: 'c' },
  { fn: 'sum', column: 'v', as: 's' },
  { fn: 'avg', column: 'v', as: 'a' },
  { fn: 'min', column: 'v', as: 'lo' },
  { fn: 'max', column: 'v', as: 'hi' },
];
