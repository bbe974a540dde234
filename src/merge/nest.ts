import type { Row } from '../data/row.js';
import { matchIndices } from './hash.js';
import { mergeFailed } from '../data/fail.js';
import { namedIf, openIf, type Relation, type RelationResult } from './relation.js';
import { requireColumns } from './references.js';
import { setColumn } from '../data/row.js';
import { pickMaker } from '../data/row-maker.js';
import { UNBOUNDED_COUNT, type StepCount } from './result-bound.js';

export interface NestSpec {
  /** `[parentColumn, childColumn]` pairs; null keys match nothing. */
  on: readonly (readonly [string, string])[];
  /** The column that receives the array of matching child rows. */
  as: string;
}

/**
 * Gives each parent row (in order) a column `as` holding the array of its matching child
 * rows, in child order (`[]` when none). The child rows are the input objects themselves,
 * shared, not copies. An `as` the parent already has as a column (named by its source, or
 * seen in a row) is a mistake in the plan (MERGE_FAILED at `as`), as an output column named
 * twice is for `project` and `aggregate`: the parent's values would be silently lost.
 * `count` bounds the output as it is made, each attached child row counting as a row: a
 * nest on a constant column attaches every child to every parent.
 */
export function nest(parent: Relation, child: Relation, spec: NestSpec, path = 'nest', count: StepCount = UNBOUNDED_COUNT): RelationResult {
  requireColumns(parent, spec.on.map(([p], i) => [p, `${path}.on[${i}][0]`] as const));
  requireColumns(child, spec.on.map(([, c], i) => [c, `${path}.on[${i}][1]`] as const));
  const matches = matchIndices(
    parent.rows,
    spec.on.map(([p]) => p),
    child.rows,
    spec.on.map(([, c]) => c),
  );
  if (parent.columns.includes(spec.as)) {
    throw mergeFailed(`${path}.as`, `the parent already has a column "${spec.as}"; nest the child rows under another name`);
  }
  const columns = [...parent.columns, spec.as];
  const pick = pickMaker(parent.columns, parent.rows.length);
  const rows: Row[] = [];
  let units = 0;
  let checkAt = count.start();
  for (let i = 0; i < parent.rows.length; i++) {
    const found = matches[i] ?? [];
    // Counted before the array is made: one parent's children are at most the child input.
    units += 1 + found.length;
    const out = pick(parent.rows[i] as Row);
    const children = found.map((j) => child.rows[j]).filter((r): r is Row => r !== undefined);
    setColumn(out, spec.as, children);
    rows.push(out);
    if (units >= checkAt) checkAt = count.check(rows, units);
  }
  count.end(rows, units);
  return { rows, columns, ...namedIf(parent.named === true), ...openIf(parent.open === true) };
}
