import { namedIf, openIf, type Relation, type RelationResult } from './relation.js';

/** Skips `offset` rows (default 0), then keeps at most `n`. */
export function limit(input: Relation, n: number, offset = 0): RelationResult {
  return { rows: input.rows.slice(offset, offset + n), columns: [...input.columns], ...namedIf(input.named === true), ...openIf(input.open === true) };
}
