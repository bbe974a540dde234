import { columnsOf as attachedColumns, withColumns } from '../data/columns.js';
import type { Row } from '../data/row.js';

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
 * The column names of a rows array: those its source attached (`withColumns`, so zero
 * rows still have columns), else the keys in order of first appearance: the first row's
 * keys, then keys that later rows add. Rows from JSON sources need not share one shape,
 * hence the scan over all rows.
 */
export function columnsOf(rows: readonly Row[]): string[] {
  const attached = attachedColumns(rows);
  if (attached !== undefined) return attached;
  const seen = new Set<string>();
  // Rows mostly share one shape: a row with the same keys as the one before adds nothing.
  let previous: string[] = [];
  for (const row of rows) {
    const keys = Object.keys(row);
    if (sameKeys(keys, previous)) continue;
    for (const key of keys) seen.add(key);
    previous = keys;
  }
  return [...seen];
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A fragment result as a relation whose columns are worked out (by `columnsOf`: the
 * attached names, else a scan of every row) only when an operator asks for them:
 * aggregate, for one, never does.
 */
export function leafRelation(rows: readonly Row[]): Relation {
  let columns: string[] | undefined;
  return {
    rows,
    get columns(): string[] {
      if (columns === undefined) {
        const attached = attachedColumns(rows);
        columns = attached ?? columnsOf(rows);
        // Worked out by a scan: remember them on the array, so the next merge over the same
        // rows (a cached result, read by every run that hits it) does not scan them again.
        if (attached === undefined && !Object.isFrozen(rows)) withColumns(rows, columns);
      }
      return columns;
    },
  };
}
