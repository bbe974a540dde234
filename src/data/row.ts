/**
 * One row: column name → value. Connectors produce rows (their values follow the values
 * policy in `sources/sql/normalize.ts`); the merge tree, the cache and the result consume them.
 */
export type Row = Record<string, unknown>;
