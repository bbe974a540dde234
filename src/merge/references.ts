import { mergeFailed } from '../data/fail.js';
import type { Relation } from './relation.js';
import type { ColumnRef } from '../data/predicate-columns.js';

/** How many of the input's columns an error message lists. */
const LISTED = 12;

/**
 * Throws MERGE_FAILED at the first reference to a column `input` does not have, when the
 * input's columns are complete (`Relation.named`: every source below named its columns).
 * A column a typo misnames would otherwise read as null in every row: a filter keeps
 * nothing, a join matches nothing, a sort does nothing, a sum is null. When the columns
 * were only seen in rows (a JSON API leaves out null fields) nothing is checked.
 */
export function requireColumns(input: Relation, refs: readonly ColumnRef[]): void {
  if (input.named !== true || refs.length === 0) return;
  const columns = input.columns;
  const known = new Set(columns);
  for (const [column, path] of refs) {
    if (known.has(column)) continue;
    const listed = columns.slice(0, LISTED).map((c) => JSON.stringify(c)).join(', ');
    const more = columns.length > LISTED ? `, … (${columns.length} in all)` : '';
    throw mergeFailed(path, `column "${column}" is not in the input (its columns: ${columns.length === 0 ? 'none' : listed + more})`);
  }
}
