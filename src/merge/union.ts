import type { Row } from '../data/row.js';
import { namedIf, openIf, type Relation, type RelationResult } from './relation.js';
import { pickMaker } from '../data/row-maker.js';
import { groupKey } from '../data/values.js';
import { UNBOUNDED_COUNT, type StepCount } from './result-bound.js';

/**
 * Concatenates the inputs in order. The output columns are every input's columns in order
 * of first appearance, and every output row holds all of them (a missing column is `null`).
 * With `distinct`, a row equal to an earlier one (nulls equal here, as in SQL's UNION) is
 * dropped, keeping the first occurrence. `count` bounds the output as it is made.
 */
export function union(inputs: readonly Relation[], distinct = false, count: StepCount = UNBOUNDED_COUNT): RelationResult {
  const columns = [...new Set(inputs.flatMap((input) => input.columns))];
  const seen = new Set<string>();
  const rows: Row[] = [];
  let total = 0;
  for (const input of inputs) total += input.rows.length;
  const pick = pickMaker(columns, total);
  let checkAt = count.start();
  for (const input of inputs) {
    for (const row of input.rows) {
      const out = pick(row);
      if (distinct) {
        const key = groupKey(out, columns);
        if (seen.has(key)) continue;
        seen.add(key);
      }
      rows.push(out);
      if (rows.length >= checkAt) checkAt = count.check(rows);
    }
  }
  count.end(rows);
  return { rows, columns, ...namedIf(inputs.every((input) => input.named === true)), ...openIf(inputs.some((input) => input.open === true)) };
}
