import type { Predicate } from '../plan/schema.js';
import { compilePredicate, type ParamResolver } from '../data/predicate.js';
import type { Relation, RelationResult } from './relation.js';

/**
 * Keeps the rows for which `where` is TRUE (SQL three-valued logic, see `compilePredicate`).
 * The kept rows are the input objects themselves; `{ $param }` values come from `resolveParam`.
 */
export function filter(
  input: Relation,
  where: Predicate,
  resolveParam?: ParamResolver,
  path = 'filter',
): RelationResult {
  const test = compilePredicate(where, resolveParam, `${path}.where`);
  return { rows: input.rows.filter(test), columns: [...input.columns] };
}
