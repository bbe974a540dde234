import { buildPredicate, quote } from '../pg-oracle/predicates.js';
import { binds, dedupe, translatePlan, typed, type OutCol, type Rel, type SqlDialect, type Translated } from '../pg-oracle/merge-sql.js';
import type { FragmentRecipe } from '../pg-oracle/recipe.js';
import { TABLE_NAMES, TABLES, type ColType, type TableName } from '../pg-oracle/schema.js';
import { myPredicate, myQuote as q } from './predicates.js';
import type { MyStores } from './stores.js';
import type { MyRecipe } from './world.js';

/**
 * A recipe as a tributary plan and as ONE MariaDB statement over the oracle's tables. The
 * plan is the one the PostgreSQL oracle builds from the same recipe (test/fuzz/pg-oracle/
 * translate.ts), with each fragment's query for its own source; the statement mirrors it step
 * by step (test/fuzz/pg-oracle/merge-sql.ts) in MariaDB's dialect:
 *
 * - Each fragment's subquery gives its text columns `COLLATE utf8mb4_nopad_bin`, so every
 *   step above compares text as the merge tree does (by code point, `'a' <> 'A'`,
 *   `'a' <> 'a '`), whatever collation the table has; the fragment's own filter and bind
 *   join compare under the table's collation, as its native SQL does on the server.
 * - MariaDB sorts nulls first ascending: every sort key says where its nulls go.
 * - An average is `sum/count` as text, the exact quotient computed in JavaScript (MariaDB
 *   divides decimals to a few more digits only).
 * - A union's number columns are cast to one exact type (DECIMAL(65,12) once a decimal is in).
 */

const BIN = 'utf8mb4_nopad_bin';

/** A union arm's column as the union's type. */
function armCol(c: OutCol, type: OutCol['type'], present: boolean): string {
  if (!present) return 'NULL';
  if (type === 'num') return `CAST(${q(c.name)} AS DECIMAL(65,12))`;
  if (type === 'big' || type === 'int') return `CAST(${q(c.name)} AS SIGNED)`;
  return q(c.name);
}

/** An ORDER BY key: nulls where tributary puts them (last ascending, first descending, or as `nulls` says). */
export function orderKey(col: string, desc: boolean, nulls: 'first' | 'last' | null): string {
  const last = (nulls ?? (desc ? 'first' : 'last')) === 'last';
  return `(${col} IS NULL) ${last ? 'ASC' : 'DESC'}, ${col} ${desc ? 'DESC' : 'ASC'}`;
}

/** The cell as the text the comparison reads (`nestChild`: inside a JSON array, where a number must stay a string). */
function asText(c: OutCol, alias: string): string {
  const ref = `${alias}.${q(c.name)}`;
  switch (c.type) {
    case 'int':
    case 'big':
    case 'num':
      return `CAST(${ref} AS CHAR)`;
    case 'bool':
      return `CASE WHEN ${ref} IS NULL THEN NULL WHEN ${ref} THEN 'true' ELSE 'false' END`;
    case 'date':
      return `DATE_FORMAT(${ref}, '%Y-%m-%d')`;
    case 'ts':
      return `CONCAT(SUBSTRING(DATE_FORMAT(${ref}, '%Y-%m-%dT%H:%i:%s.%f'), 1, 23), 'Z')`;
    // CONCAT drops the JSON mark of a nest's array, so the driver hands over its text.
    case 'nest':
      return `CONCAT('', ${ref})`;
    case 'text':
    case 'avg':
      return ref;
    default:
      return c.type satisfies never;
  }
}

function buildFragment(i: number, r: FragmentRecipe, recipe: MyRecipe, stores: MyStores, built: Rel[]): { fragment: Record<string, unknown>; rel: Rel } {
  const { world } = recipe.plan;
  const table = TABLE_NAMES[r.table % TABLE_NAMES.length] as TableName;
  const source = world.placement[table];
  const tcols = TABLES[table].columns;
  const typedCols = tcols.map(([name, type]) => ({ name, type }));
  const cols = dedupe(r.cols.map((c) => tcols[c % tcols.length] as [string, ColType]), ([n]) => n);
  const id = `f${i}`;
  let bind: { col: string; type: ColType; ref: unknown; upSql: string; upCol: string; upId: string; not: boolean } | undefined;
  if (r.bind && i > 0) {
    const up = r.bind.up % i;
    const [col, type] = tcols[r.bind.col % tcols.length] as [string, ColType];
    const candidates = typed(built[up]!.cols).filter((c) => binds(c.type, type));
    if (candidates.length > 0) {
      const upCol = candidates[r.bind.upCol % candidates.length]!.name;
      bind = { col, type, ref: { $from: `f${up}`, column: upCol }, upSql: built[up]!.sql, upCol, upId: `f${up}`, not: r.bind.not };
    }
  }
  const where = r.where ? myPredicate(r.where, typedCols) : undefined;
  const not = bind?.not ? 'NOT ' : '';
  const batch = r.bind?.batch && bind && !bind.not ? r.bind.batch : undefined;
  // Batches are concatenated, so their rows must not overlap (README, `batch`): under a
  // case-insensitive collation 'a' and 'A' — two values to tributary — match the same rows,
  // and each chunk would return them. A batched text bind compares by code point, as README advises.
  const exact = batch !== undefined && bind?.type === 'text' && stores.collationOf(table, world, recipe.collation) !== BIN;
  const boundCol = bind ? (exact ? `${q(bind.col)} COLLATE ${BIN}` : q(bind.col)) : '';
  let query: unknown;
  if (source === 'mem') {
    const listed = bind ? { in: [bind.col, bind.ref] } : undefined;
    const bound = bind?.not ? { not: listed } : listed;
    const filter = where && bound ? { and: [where.plan, bound] } : (where?.plan ?? bound);
    query = { table, columns: cols.map(([n]) => n), ...(filter === undefined ? {} : { where: filter }) };
  } else {
    const pg = source === 'pg';
    const name = pg ? quote : q;
    const parts = bind ? [pg ? `${not}(${quote(bind.col)} = ANY($1))` : `${boundCol} ${not}IN (?)`] : [];
    const params: unknown[] = bind ? [bind.ref] : [];
    // A MariaDB fragment's filter binds its literals (scalars, and lists the source expands).
    if (r.where) parts.push(pg ? buildPredicate(r.where, typedCols).sql : myPredicate(r.where, typedCols, params).sql);
    const physical = pg ? stores.pgName[table] : stores.myTable(table, world, recipe.collation);
    query = { sql: `SELECT ${cols.map(([n]) => name(n)).join(', ')} FROM ${physical}${parts.length > 0 ? ` WHERE ${parts.join(' AND ')}` : ''}`, params };
  }
  const fragment: Record<string, unknown> = { id, source, query };
  if (bind) {
    fragment.dependsOn = [bind.upId];
    if (batch !== undefined) fragment.batch = { param: 0, size: batch };
  }
  // The bound values meet the column under its own collation, as `IN (?)` on the server does.
  const upCol = bind?.type === 'text' ? `${q(bind.upCol)} COLLATE ${exact ? BIN : stores.collationOf(table, world, recipe.collation)}` : q(bind?.upCol ?? '');
  const conds = bind ? [`${boundCol} ${not}IN (SELECT ${upCol} FROM (${bind.upSql}) up WHERE ${q(bind.upCol)} IS NOT NULL)`] : [];
  if (where) conds.push(where.sql);
  const select = cols.map(([n, ty]) => (ty === 'text' ? `${q(n)} COLLATE ${BIN} AS ${q(n)}` : q(n)));
  const sql = `SELECT ${select.join(', ')} FROM ${stores.myTable(table, world, recipe.collation)}${conds.length > 0 ? ` WHERE ${conds.join(' AND ')}` : ''}`;
  return { fragment, rel: { node: id, sql, cols: cols.map(([name, type]) => ({ name, type })) } };
}

/** MariaDB's spelling of the merge steps (see the list above). */
const MY: SqlDialect = {
  quote: q,
  key: (col, alias) => `${alias}.${q(col.name)}`,
  unionCell: (c, present) => armCol(c, c.type, present),
  // `sum/count` and a nest's JSON are text here: equal values may be spelt apart.
  distinctComparable: (cols) => !cols.some((c) => c.type === 'avg' || c.type === 'nest'),
  predicate: (where, cols) => myPredicate(where, cols),
  aggregate: (fn, col) => {
    if (col === undefined) return 'COUNT(*)';
    const c = q(col.name);
    if (fn === 'sum') return `CAST(SUM(${c}) AS DECIMAL(65,12))`;
    if (fn === 'avg') return `CONCAT(SUM(${c}), '/', COUNT(${c}))`;
    return `${fn.toUpperCase()}(${c})`;
  },
  nestRows: (child, cond) => {
    // Every child cell as text (a number too, which JSON_ARRAY would keep a JSON number).
    const cells = child.cols.map((c) => (c.type === 'text' || c.type === 'avg' ? `c.${q(c.name)}` : `CONCAT('', ${asText(c, 'c')})`));
    return `(SELECT COALESCE(JSON_ARRAYAGG(JSON_ARRAY(${cells.join(', ')})), '[]') FROM (${child.sql}) c WHERE ${cond})`;
  },
  orderKey: (col, alias, desc, nulls) => orderKey(`${alias}.${q(col.name)}`, desc, nulls),
  asText,
};

export function translateMy(recipe: MyRecipe, stores: MyStores): Translated {
  const frags: Rel[] = [];
  const fragments = recipe.plan.fragments.map((r, i) => {
    const { fragment, rel } = buildFragment(i, r, recipe, stores, frags);
    frags.push(rel);
    return fragment;
  });
  return translatePlan(fragments, frags, recipe.plan, MY);
}
