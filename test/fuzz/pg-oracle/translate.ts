import { binds, dedupe, translatePlan, typed, type OutCol, type Rel, type SqlDialect, type Translated } from './merge-sql.js';
import { buildPredicate, quote, sqlColumn } from './predicates.js';
import type { FragmentRecipe, PlanRecipe } from './recipe.js';
import { TABLE_NAMES, TABLES, type ColType, type SourceKind, type TableName } from './schema.js';

/**
 * A recipe as a tributary plan and as ONE PostgreSQL statement over the oracle's copies of
 * every table: the fragments' native queries here, the merge steps in ./merge-sql.ts with
 * PostgreSQL's dialect below.
 */

export type PhysicalNames = Record<SourceKind, Record<TableName, string>>;

const PG_TYPES: Record<OutCol['type'], string> = { int: 'integer', big: 'bigint', num: 'numeric', text: 'text', bool: 'boolean', date: 'date', ts: 'timestamp', avg: 'numeric', nest: 'text' };

type Pred = { plan: unknown; sql: string } | undefined;

/** The fragment's native query; `pred` (a filter of its own) only on memory and PostgreSQL. */
function nativeQuery(source: SourceKind, table: TableName, physical: string, cols: string[], bind: { col: string; ref: unknown; not: boolean } | undefined, pred: Pred): unknown {
  if (source === 'mem') {
    const listed = bind ? { in: [bind.col, bind.ref] } : undefined;
    const bound = bind?.not ? { not: listed } : listed;
    const where = pred && bound ? { and: [pred.plan, bound] } : (pred?.plan ?? bound);
    return { table, columns: cols, ...(where === undefined ? {} : { where }) };
  }
  const list = cols.map(quote).join(', ');
  // NOT IN an empty list keeps every row, a null too (as the oracle's subquery of no rows).
  const not = bind?.not ? 'NOT ' : '';
  const parts = !bind ? [] : source === 'pg' ? [`${not}(${quote(bind.col)} = ANY($1))`] : source === 'my' ? [`${bind.col} ${not}IN (?)`] : [`${bind.col} ${not}IN (SELECT value FROM json_each(?))`];
  if (pred) parts.push(pred.sql);
  const from = source === 'my' ? list.replace(/"/g, '`') : list;
  return { sql: `SELECT ${from} FROM ${physical}${parts.length > 0 ? ` WHERE ${parts.join(' AND ')}` : ''}`, params: bind ? [bind.ref] : [] };
}

function buildFragment(i: number, r: FragmentRecipe, recipe: PlanRecipe, names: PhysicalNames, built: Rel[]): { fragment: Record<string, unknown>; rel: Rel } {
  const table = TABLE_NAMES[r.table % TABLE_NAMES.length] as TableName;
  const source = recipe.world.placement[table];
  const tcols = TABLES[table].columns;
  const cols = dedupe(r.cols.map((c) => tcols[c % tcols.length] as [string, ColType]), ([n]) => n);
  const id = `f${i}`;
  let bind: { col: string; ref: unknown; upSql: string; upCol: string; upId: string; not: boolean } | undefined;
  if (r.bind && i > 0) {
    const up = r.bind.up % i;
    const [col, type] = tcols[r.bind.col % tcols.length] as [string, ColType];
    const candidates = typed(built[up]!.cols).filter((c) => binds(c.type, type));
    if (candidates.length > 0) {
      const upCol = candidates[r.bind.upCol % candidates.length]!.name;
      bind = { col, ref: { $from: `f${up}`, column: upCol }, upSql: built[up]!.sql, upCol, upId: `f${up}`, not: r.bind.not };
    }
  }
  const pred: Pred = r.where && (source === 'mem' || source === 'pg') ? buildPredicate(r.where, tcols.map(([name, type]) => ({ name, type }))) : undefined;
  const query = nativeQuery(source, table, names[source][table], cols.map(([n]) => n), bind, pred);
  const fragment: Record<string, unknown> = { id, source, query };
  if (bind) {
    fragment.dependsOn = [bind.upId];
    // Batches are concatenated: right for IN (the rows of each chunk), not for NOT IN (README, `batch`).
    if (r.bind?.batch && !bind.not) fragment.batch = { param: 0, size: r.bind.batch };
  }
  // `$from` binds the upstream column's non-null values: NOT IN them is NOT IN that subquery.
  const conds = bind ? [`${quote(bind.col)} ${bind.not ? 'NOT ' : ''}IN (SELECT ${quote(bind.upCol)} FROM (${bind.upSql}) up WHERE ${quote(bind.upCol)} IS NOT NULL)`] : [];
  if (pred) conds.push(pred.sql);
  const where = conds.length > 0 ? ` WHERE ${conds.join(' AND ')}` : '';
  const sql = `SELECT ${cols.map(([n]) => quote(n)).join(', ')} FROM ${names.pg[table]}${where}`;
  return { fragment, rel: { node: id, sql, cols: cols.map(([name, type]) => ({ name, type })) } };
}

/** The cast that gives each column's value as text the comparison reads. */
function asText(c: OutCol, alias: string): string {
  const q = `${alias}.${quote(c.name)}`;
  if (c.type === 'date') return `to_char(${q}, 'YYYY-MM-DD')`;
  if (c.type === 'ts') return `to_char(${q}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  return `${q}::text`;
}

/** PostgreSQL's spelling of the merge steps: text compared under `COLLATE "C"`, exact numerics. */
const PG: SqlDialect = {
  quote,
  key: (col, alias) => sqlColumn(col, alias),
  unionCell: (c, present) => `${present ? quote(c.name) : 'NULL'}::${PG_TYPES[c.type]}`,
  distinctComparable: () => true,
  predicate: buildPredicate,
  aggregate: (fn, col) => {
    if (col === undefined) return 'count(*)';
    const q = quote(col.name);
    if (fn === 'count') return `count(${q})`;
    if (fn === 'sum') return `sum(${q})::numeric`;
    if (fn === 'avg') return `(sum(${q})::numeric + 0::numeric(80,60)) / NULLIF(count(${q}), 0)`;
    return `${col.type === 'bool' ? (fn === 'min' ? 'bool_and' : 'bool_or') : fn}(${sqlColumn(col)})`;
  },
  nestRows: (child, cond) => `(SELECT coalesce(json_agg(json_build_array(${child.cols.map((c) => asText(c, 'c')).join(', ')})), '[]'::json)::text FROM (${child.sql}) c WHERE ${cond})`,
  orderKey: (col, alias, desc, nulls) => `${sqlColumn(col, alias)} ${desc ? 'DESC' : 'ASC'}${nulls ? ` NULLS ${nulls.toUpperCase()}` : ''}`,
  asText,
};

export function translate(recipe: PlanRecipe, names: PhysicalNames): Translated {
  const frags: Rel[] = [];
  const fragments = recipe.fragments.map((r, i) => {
    const { fragment, rel } = buildFragment(i, r, recipe, names, frags);
    frags.push(rel);
    return fragment;
  });
  return translatePlan(fragments, frags, recipe, PG);
}
