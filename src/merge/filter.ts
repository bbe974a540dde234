import type { Predicate } from '../plan/schema.js';
import { compilePredicate, type ParamResolver } from '../data/predicate.js';
import { namedIf, openIf, type Relation, type RelationResult } from './relation.js';
import { requireColumns } from './references.js';
import { predicateColumns } from '../data/predicate-columns.js';
import type { Row } from '../data/row.js';
import { UNBOUNDED_COUNT, type StepCount } from './result-bound.js';

/**
 * Keeps the rows for which `where` is TRUE (SQL three-valued logic, see `compilePredicate`).
 * The kept rows are the input objects themselves; `{ $param }` values come from `resolveParam`.
 * A column the input does not have fails it when the input's columns are complete (`requireColumns`).
 * `count` bounds the output as it is made.
 */
export function filter(
  input: Relation,
  where: Predicate,
  resolveParam?: ParamResolver,
  path = 'filter',
  count: StepCount = UNBOUNDED_COUNT,
): RelationResult {
  requireColumns(input, predicateColumns(where, `${path}.where`));
  const test = compilePredicate(where, resolveParam, `${path}.where`);
  return { rows: keep(input.rows, test, count), columns: [...input.columns], ...namedIf(input.named === true), ...openIf(input.open === true) };
}

/**
 * The rows that pass `test` (the objects themselves), counted by `count` as they are kept:
 * a bound fails at the row past it, not once a whole batch has been kept. Between checks
 * it compares one number a kept row; measured no slower than `Array.prototype.filter`.
 */
export function keep(rows: readonly Row[], test: (row: Row) => boolean, count: StepCount): Row[] {
  const kept: Row[] = [];
  let checkAt = count.start();
  for (const row of rows) {
    if (!test(row)) continue;
    kept.push(row);
    if (kept.length >= checkAt) checkAt = count.check(kept);
  }
  count.end(kept);
  return kept;
}
