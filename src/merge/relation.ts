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
  // Rows mostly share one shape: a row whose keys are the ones before adds nothing, and
  // checking that with `for…in` allocates nothing (`Object.keys` makes an array a row).
  let previous: string[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Row;
    if (enumeratesAs(row, previous)) continue;
    const keys = Object.keys(row);
    for (const key of keys) seen.add(key);
    previous = keys;
  }
  return [...seen];
}

/**
 * True when `for…in` over `row` yields exactly `keys`, in order. `for…in` yields the row's
 * own enumerable keys first, then inherited ones, so a match means the row's own keys are
 * among `keys`: whatever it inherits, it has no column that `keys` did not already add.
 */
function enumeratesAs(row: Row, keys: readonly string[]): boolean {
  let i = 0;
  for (const key in row) {
    if (key !== keys[i]) return false;
    i++;
  }
  return i === keys.length;
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
