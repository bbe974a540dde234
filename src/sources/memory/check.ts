import type { Row } from '../../data/row.js';

/** Each table's column names: every key of its rows, in order of first appearance. */
export function tableColumns(tables: ReadonlyMap<string, readonly Row[]>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, rows] of tables) {
    const seen = new Set<string>();
    for (const row of rows) for (const key of Object.keys(row)) seen.add(key);
    out.set(name, [...seen]);
  }
  return out;
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
