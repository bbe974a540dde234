import { TributaryError } from '../errors.js';

/** A MERGE_FAILED error with one issue at `path` (e.g. `merge.input.columns[2]`). */
export function mergeFailed(path: string, message: string): TributaryError {
  return new TributaryError('MERGE_FAILED', `${message} (at ${path})`, { issues: [{ path, message }] });
}

/** Throws MERGE_FAILED when two output columns would share a name. */
export function assertUniqueColumns(columns: readonly string[], path: string): void {
  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column)) throw mergeFailed(path, `output column "${column}" appears twice`);
    seen.add(column);
  }
}
