import type { Row } from '../../data/row.js';

/**
 * A table's column names: every key of its rows, in order of first appearance. Worked out
 * once per table and again when its row count changes (rows pushed onto a table array).
 */
export function tableColumns(): (rows: readonly Row[]) => readonly string[] {
  const known = new WeakMap<readonly Row[], { length: number; columns: readonly string[] }>();
  return (rows) => {
    const had = known.get(rows);
    if (had?.length === rows.length) return had.columns;
    const seen = new Set<string>();
    for (const row of rows) for (const key of Object.keys(row)) seen.add(key);
    const columns = Object.freeze([...seen]);
    known.set(rows, { length: rows.length, columns });
    return columns;
  };
}

/**
 * What `tributary validate --sources` says about a memory query naming a table the source
 * does not have (`run` fails it as FRAGMENT_FAILED), or `undefined` when the table exists.
 * Columns are not checked: a projected column the rows lack is `null` by design.
 */
export function unknownTableMessage(table: string, tables: readonly string[]): string | undefined {
  if (tables.includes(table)) return undefined;
  return `no table "${table}" in this memory source (its tables: ${tables.length > 0 ? tables.join(', ') : 'none'})`;
}
