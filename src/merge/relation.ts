import type { Row } from '../sources/source.js';

/**
 * An intermediate result of the merge tree: rows and their column names in order. Inputs
 * are read-only because fragment results are cached and shared between runs.
 */
export interface Relation {
  readonly rows: readonly Row[];
  readonly columns: readonly string[];
}

/** What every operator returns: fresh arrays the caller owns (the rows may be shared). */
export interface RelationResult {
  rows: Row[];
  columns: string[];
}

/**
 * Column names in order of first appearance: the first row's keys, then keys that later
 * rows add. Rows from JSON sources need not share one shape, hence the scan over all rows.
 */
export function columnsOf(rows: readonly Row[]): string[] {
  const seen = new Set<string>();
  for (const row of rows) {
    for (const key of Object.keys(row)) seen.add(key);
  }
  return [...seen];
}
