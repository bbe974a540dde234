import { columnsOf as attachedColumns, hasColumns } from '../data/columns.js';
import type { Row } from '../data/row.js';

/**
 * An intermediate result of the merge tree: rows and their column names in order. Inputs
 * are read-only because fragment results are cached and shared between runs.
 */
export interface Relation {
  readonly rows: readonly Row[];
  readonly columns: readonly string[];
  /**
   * True when the columns are complete: every fragment below named its columns (a SQL
   * driver's field list, a memory table's columns), so a column not among them is in no
   * row and naming it is a mistake in the plan. False (or absent) when they were only seen
   * in rows: a JSON API leaves out null fields, so a column no row shows may still be real.
   */
  readonly named?: boolean;
  /**
   * True when an input below showed nothing of its columns — no rows and none named: a
   * fragment whose bound list was empty (it ran no query), an empty JSON answer, an empty
   * memory table — so columns it would have had may be missing from `columns` even where
   * other inputs' rows show theirs. A `project` cannot tell such a column from a typo then.
   */
  readonly open?: boolean;
}

/** What every operator returns: fresh arrays the caller owns (the rows may be shared). */
export interface RelationResult {
  rows: Row[];
  columns: string[];
  named?: boolean;
  open?: boolean;
}

/**
 * `{ named: true }` when `yes`, else nothing: spread into an operator's result, so a result
 * whose columns are not complete has no `named` key at all.
 */
export function namedIf(yes: boolean): { named: true } | undefined {
  return yes ? NAMED : undefined;
}
const NAMED = Object.freeze({ named: true as const });

/** `{ open: true }` when `yes`, else nothing (see `Relation.open`). */
export function openIf(yes: boolean): { open: true } | undefined {
  return yes ? OPEN : undefined;
}
const OPEN = Object.freeze({ open: true as const });

/**
 * Columns worked out by a scan of the rows, kept per rows array: the next merge over the
 * same rows (a cached result, read by every run that hits it) does not scan them again.
 * Kept apart from the names a source attached (`withColumns`), which are complete.
 */
const seen = new WeakMap<readonly Row[], readonly string[]>();

/** `rows`, with `columns` recorded as seen in rows rather than named by a source. */
export function withSeenColumns<R extends readonly Row[]>(rows: R, columns: readonly string[]): R {
  seen.set(rows, columns);
  return rows;
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
  const known = seen.get(rows);
  if (known !== undefined) return [...known];
  const keys = new Set<string>();
  // Rows mostly share one shape: a row whose keys are the ones before adds nothing, and
  // checking that with `for…in` allocates nothing (`Object.keys` makes an array a row).
  let previous: string[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Row;
    if (enumeratesAs(row, previous)) continue;
    const own = Object.keys(row);
    for (const key of own) keys.add(key);
    previous = own;
  }
  return [...keys];
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
 * aggregate, for one, never does. Named when its source attached its columns.
 */
export function leafRelation(rows: readonly Row[]): Relation {
  return new LeafRelation(rows);
}

/**
 * A class, not an object literal with a `get columns()`: V8 builds such a literal through
 * the runtime, ~1.3 µs each, and a merge makes one per leaf on every run (a cache hit's too).
 */
class LeafRelation implements Relation {
  readonly named: boolean;
  readonly open: boolean;
  #columns: string[] | undefined;

  constructor(readonly rows: readonly Row[]) {
    this.named = hasColumns(rows);
    this.open = rows.length === 0 && !this.named && seen.get(rows) === undefined;
  }

  get columns(): string[] {
    return (this.#columns ??= leafColumns(this.rows));
  }
}

/** The attached names, else those seen in the same rows before, else a scan (then recorded as seen). */
function leafColumns(rows: readonly Row[]): string[] {
  const attached = attachedColumns(rows);
  if (attached !== undefined) return attached;
  const known = seen.get(rows);
  if (known !== undefined) return [...known];
  const columns = columnsOf(rows);
  // Not for no rows: a scan of them found nothing, and recording that would make the
  // next merge step over the same (shared) empty result take it as showing its columns.
  if (rows.length > 0) seen.set(rows, columns);
  return columns;
}
