import type { Predicate } from '../plan/schema.js';
import { compilePredicate, type ParamResolver } from '../data/predicate.js';
import { namedIf, openIf, type Relation, type RelationResult } from './relation.js';
import { requireColumns } from './references.js';
import { predicateColumns } from '../data/predicate-columns.js';

/**
 * Keeps the rows for which `where` is TRUE (SQL three-valued logic, see `compilePredicate`).
 * The kept rows are the input objects themselves; `{ $param }` values come from `resolveParam`.
 * A column the input does not have fails it when the input's columns are complete (`requireColumns`).
 */
export function filter(
  input: Relation,
  where: Predicate,
  resolveParam?: ParamResolver,
  path = 'filter',
): RelationResult {
  requireColumns(input, predicateColumns(where, `${path}.where`));
  const test = compilePredicate(where, resolveParam, `${path}.where`);
  return { rows: input.rows.filter(test), columns: [...input.columns], ...namedIf(input.named === true), ...openIf(input.open === true) };
}
