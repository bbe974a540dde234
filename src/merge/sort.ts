import type { Row } from '../sources/source.js';
import { compareTotal } from './compare.js';
import type { Relation, RelationResult } from './relation.js';
import { getColumn, isNullish } from './row.js';

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
export function sort(input: Relation, by: readonly SortKey[]): RelationResult {
  const keys = by.map((key) => ({
    column: key.column,
    direction: key.desc === true ? -1 : 1,
    nullsFirst: (key.nulls ?? (key.desc === true ? 'first' : 'last')) === 'first',
  }));
  // Read each sort value once per row instead of once per comparison.
  const decorated = input.rows.map((row) => ({ row, values: keys.map((k) => getColumn(row, k.column)) }));
  decorated.sort((a, b) => {
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const x = a.values[i];
      const y = b.values[i];
      if (key === undefined) break;
      const xNull = isNullish(x);
      const yNull = isNullish(y);
      if (xNull || yNull) {
        if (xNull && yNull) continue;
        return xNull === key.nullsFirst ? -1 : 1;
      }
      const c = compareTotal(x, y);
      if (c !== 0) return c * key.direction;
    }
    return 0;
  });
  return { rows: decorated.map((d): Row => d.row), columns: [...input.columns] };
}
