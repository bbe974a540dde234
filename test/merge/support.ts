import type { Row } from '../../src/data/row.js';
import { columnsOf, type Relation } from '../../src/merge/relation.js';

/** Freezes rows and the array deeply enough that any mutation by an operator throws. */
export function frozen(rows: Row[]): Row[] {
  return Object.freeze(rows.map((row) => Object.freeze(row))) as Row[];
}

/** A relation over frozen rows, with columns as a leaf would have them. */
export function rel(rows: Row[]): Relation {
  return { rows: frozen(rows), columns: columnsOf(rows) };
}
