import type { Row } from '../data/row.js';
import { assertUniqueColumns, mergeFailed } from '../data/fail.js';
import { namedIf, type Relation, type RelationResult } from './relation.js';
import { rowMaker, type ColumnFrom } from '../data/row-maker.js';
import { UNBOUNDED_COUNT, type StepCount } from './result-bound.js';

/** A projected column: a name kept as is, or `{ column, as }` to rename it. */
export type ProjectColumn = string | { column: string; as: string };

/**
 * Keeps exactly the listed columns, in that order, renaming `{ column, as }` entries.
 * A column that is not among the input's columns is a mistake in the plan (MERGE_FAILED)
 * when they are known: when there are rows, or the source named its columns; an empty
 * input without names cannot be checked and raises no error, nor can one fed by such an
 * input (`Relation.open`: a union or join over a fragment that ran no query).
 */
export function project(input: Relation, columns: readonly ProjectColumn[], path = 'project', count: StepCount = UNBOUNDED_COUNT): RelationResult {
  const pairs = columns.map((c): [string, string] => (typeof c === 'string' ? [c, c] : [c.column, c.as]));
  const names = pairs.map(([, as]) => as);
  assertUniqueColumns(names, `${path}.columns`);
  if (input.open !== true && (input.rows.length > 0 || input.columns.length > 0)) {
    const known = new Set(input.columns);
    pairs.forEach(([from], i) => {
      if (!known.has(from)) throw mergeFailed(`${path}.columns[${i}]`, `column "${from}" is not in the input`);
    });
  }
  const make = rowMaker(
    pairs.map(([column, as]): ColumnFrom => ({ from: 0, column, as })),
    input.rows.length,
  );
  const rows: Row[] = [];
  let checkAt = count.start();
  for (const row of input.rows) {
    rows.push(make(row));
    if (rows.length >= checkAt) checkAt = count.check(rows);
  }
  count.end(rows);
  return { rows, columns: names, ...namedIf(input.named === true) };
}
