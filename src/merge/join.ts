import type { Row } from '../data/row.js';
import { mergeFailed } from '../data/fail.js';
import { RENAME_HINT } from '../plan/schema.js';
import { matchIndices } from './hash.js';
import { namedIf, openIf, type Relation, type RelationResult } from './relation.js';
import { requireColumns } from './references.js';
import { rowMaker, type ColumnFrom } from '../data/row-maker.js';
import { UNBOUNDED_COUNT, type StepCount } from './result-bound.js';

export type JoinType = 'inner' | 'left' | 'semi' | 'anti';

export interface JoinSpec {
  type: JoinType;
  /** `[leftColumn, rightColumn]` pairs; rows match when every pair is equal (and non-null). */
  on: readonly (readonly [string, string])[];
  /** Prefix for right columns whose names clash with left ones: `rightAs`, the fragment id, or `right`. */
  rightName: string;
}

/**
 * The right input's columns as they appear in the output: a name already used on the left
 * becomes `<rightName>.<column>`. A renamed column that still clashes is an error rather
 * than a silent overwrite.
 */
function rightOutputNames(left: Relation, right: Relation, rightName: string, path: string): string[] {
  const taken = new Set(left.columns);
  return right.columns.map((column) => {
    const name = taken.has(column) ? `${rightName}.${column}` : column;
    if (taken.has(name)) {
      throw mergeFailed(path, `right column "${column}" would be renamed "${name}", which is already taken; ${RENAME_HINT}`);
    }
    taken.add(name);
    return name;
  });
}

/**
 * Hash join on column pairs (SQL semantics: null keys never match). `inner` and `left`
 * rows hold the left columns then the right columns (clashing right names renamed, see
 * `rightOutputNames`); a `left` row without a match gets `null` in every right column.
 * `semi` keeps each left row that has a match, once; `anti` keeps those without one,
 * including rows whose key is null (as SQL's NOT EXISTS). Output order is left-row order
 * and, per left row, right-row order, whichever side the hash table was built on.
 * `count` bounds the output as it is made (`maxResultRows` / `maxResultBytes`).
 */
export function join(left: Relation, right: Relation, spec: JoinSpec, path = 'join', count: StepCount = UNBOUNDED_COUNT): RelationResult {
  requireColumns(left, spec.on.map(([l], i) => [l, `${path}.on[${i}][0]`] as const));
  requireColumns(right, spec.on.map(([, r], i) => [r, `${path}.on[${i}][1]`] as const));
  const named = left.named === true && right.named === true;
  const matches = matchIndices(
    left.rows,
    spec.on.map(([l]) => l),
    right.rows,
    spec.on.map(([, r]) => r),
  );
  if (spec.type === 'semi' || spec.type === 'anti') {
    const wanted = spec.type === 'semi';
    const kept = left.rows.filter((_, i) => ((matches[i]?.length ?? 0) > 0) === wanted);
    count.end(kept);
    return { rows: kept, columns: [...left.columns], ...namedIf(left.named === true), ...openIf(left.open === true) };
  }
  const rightNames = rightOutputNames(left, right, spec.rightName, path);
  // The column plan, resolved once: which input column feeds which output column.
  const layout: ColumnFrom[] = [
    ...left.columns.map((column): ColumnFrom => ({ from: 0, column, as: column })),
    ...right.columns.map((column, k): ColumnFrom => ({ from: 1, column, as: rightNames[k] as string })),
  ];
  // A join's output may outgrow either input: the larger one stands for its size.
  const build = rowMaker(layout, Math.max(left.rows.length, right.rows.length));
  const rows: Row[] = [];
  const leftRows = left.rows;
  const rightRows = right.rows;
  const keepUnmatched = spec.type === 'left';
  // A product grows as fast as rows can be made: the bound is checked as they are.
  let checkAt = count.start();
  for (let i = 0; i < leftRows.length; i++) {
    const l = leftRows[i] as Row;
    const found = matches[i] as readonly number[];
    for (let m = 0; m < found.length; m++) {
      rows.push(build(l, rightRows[found[m] as number]));
      if (rows.length >= checkAt) checkAt = count.check(rows);
    }
    if (found.length === 0 && keepUnmatched) {
      rows.push(build(l, undefined));
      if (rows.length >= checkAt) checkAt = count.check(rows);
    }
  }
  count.end(rows);
  return { rows, columns: [...left.columns, ...rightNames], ...namedIf(named), ...openIf(left.open === true || right.open === true) };
}
