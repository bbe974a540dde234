import type { FragmentRecipe, MergeRecipe, PlanRecipe } from './recipe.js';
import { buildPredicate, quote, sqlColumn, type TypedCol } from './predicates.js';
import { family, TABLE_NAMES, TABLES, type ColType, type SourceKind, type TableName } from './schema.js';

/**
 * A recipe as a tributary plan and as ONE PostgreSQL statement over the oracle's copies of
 * every table. Each merge step becomes a subquery that yields exactly the step's columns,
 * under the names tributary gives them (join renames included).
 */

export interface OutCol {
  name: string;
  /**
   * `avg`: an average, compared as the exact quotient rounded (README, "Exact decimals");
   * `nest`: the child rows a nest attached, `children` their columns (PostgreSQL gives them
   * as a JSON array of text rows).
   */
  type: ColType | 'avg' | 'nest';
  children?: OutCol[];
}

interface Rel {
  node: unknown;
  sql: string;
  cols: OutCol[];
}

export interface Translated {
  plan: Record<string, unknown>;
  /** The oracle statement: one row of text cells per result row, in `cols` order. */
  sql: string;
  cols: OutCol[];
  ordered: boolean;
  /** A step tributary must refuse (a join rename that clashes): the code it fails with. */
  fails?: 'MERGE_FAILED';
}

export type PhysicalNames = Record<SourceKind, Record<TableName, string>>;

const PG_TYPES: Record<OutCol['type'], string> = { int: 'integer', big: 'bigint', num: 'numeric', text: 'text', bool: 'boolean', date: 'date', ts: 'timestamp', avg: 'numeric', nest: 'text' };
export const NEST_NAMES = ['n0', 'n1', 'n2', 'n0', 'n1', 'n2', 'n0', 'id'];
export const RENAMES = ['p0', 'p1', 'id', 'k', 's', 'f1.id', 'right.k', 'f0.s', 'a0'];
export const typed = (cols: OutCol[]): TypedCol[] => cols.filter((c): c is TypedCol => c.type !== 'avg' && c.type !== 'nest');
export const dedupe = <T>(items: T[], key: (t: T) => string): T[] => items.filter((t, i) => items.findIndex((u) => key(u) === key(t)) === i);
/** Column types a bound list of `from` values can be compared with on every server. */
export const binds = (from: ColType, to: ColType): boolean => from === to || (from === 'int' && to === 'big');
export const widest = (a: OutCol['type'], b: OutCol['type']): OutCol['type'] => (a === 'num' || b === 'num' ? 'num' : a === 'big' || b === 'big' ? 'big' : a);

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

interface Ctx {
  n: number;
  clash: boolean;
}

function buildMerge(r: MergeRecipe, frags: Rel[], ctx: Ctx): Rel {
  const sub = (m: MergeRecipe): Rel => buildMerge(m, frags, ctx);
  /** A step that cannot be built stands for its first input; what the others clashed on is gone. */
  const dropped = (rel: Rel, clash: boolean): Rel => {
    ctx.clash = clash;
    return rel;
  };
  switch (r.op) {
    case 'leaf':
      return frags[r.f % frags.length] as Rel;
    case 'union': {
      const first = sub(r.inputs[0] as MergeRecipe);
      const kept = ctx.clash;
      const inputs = [first, ...r.inputs.slice(1).map(sub)];
      const cols: OutCol[] = [];
      for (const c of inputs.flatMap((x) => x.cols)) {
        const seen = cols.find((o) => o.name === c.name);
        if (!seen) cols.push({ ...c });
        else if (seen.type === 'avg' || seen.type === 'nest' || c.type === 'avg' || c.type === 'nest' || family(seen.type) !== family(c.type)) return dropped(first, kept);
        else seen.type = widest(seen.type, c.type);
      }
      const arms = inputs.map((x) => `SELECT ${cols.map((c) => (x.cols.some((o) => o.name === c.name) ? `${quote(c.name)}::${PG_TYPES[c.type]}` : `NULL::${PG_TYPES[c.type]}`) + ` AS ${quote(c.name)}`).join(', ')} FROM (${x.sql}) u`);
      const all = arms.map((a) => `(${a})`).join(' UNION ALL ');
      const sql = r.distinct ? `SELECT DISTINCT * FROM (${all}) d` : all;
      return { node: { op: 'union', inputs: inputs.map((x) => x.node), distinct: r.distinct }, sql, cols };
    }
    case 'join': {
      const left = sub(r.left);
      const kept = ctx.clash;
      const right = sub(r.right);
      const on = pairsOf(left.cols, right.cols, r.on);
      if (on.length === 0) return dropped(left, kept);
      // `rightAs`: a name of its own, or one that may clash again (`right`, a fragment id).
      const rightAs = r.rightAs === null ? undefined : (['r', 'right', 'f0', 'q'][r.rightAs] as string);
      const node = { op: 'join', type: r.type, left: left.node, right: right.node, on: on.map(([l, rr]) => [l.name, rr.name]), ...(rightAs === undefined ? {} : { rightAs }) };
      const cond = on.map(([l, rr]) => `${sqlColumn(l, 'l')} = ${sqlColumn(rr, 'r')}`).join(' AND ');
      if (r.type === 'semi' || r.type === 'anti') {
        const sql = `SELECT l.* FROM (${left.sql}) l WHERE ${r.type === 'anti' ? 'NOT ' : ''}EXISTS (SELECT 1 FROM (${right.sql}) r WHERE ${cond})`;
        return { node, sql, cols: left.cols };
      }
      const prefix = rightAs ?? (typeof right.node === 'string' ? right.node : 'right');
      const taken = new Set(left.cols.map((c) => c.name));
      const rightCols = right.cols.map((c) => {
        const name = taken.has(c.name) ? `${prefix}.${c.name}` : c.name;
        // tributary refuses a rename that still clashes (MERGE_FAILED); SQL would keep both.
        if (taken.has(name)) ctx.clash = true;
        taken.add(name);
        return { ...c, name, from: c.name };
      });
      const select = [...left.cols.map((c) => `l.${quote(c.name)} AS ${quote(c.name)}`), ...rightCols.map((c) => `r.${quote(c.from)} AS ${quote(c.name)}`)];
      const sql = `SELECT ${select.join(', ')} FROM (${left.sql}) l ${r.type === 'left' ? 'LEFT JOIN' : 'JOIN'} (${right.sql}) r ON ${cond}`;
      return { node, sql, cols: [...left.cols, ...rightCols.map(({ name, type }) => ({ name, type }))] };
    }
    case 'nest': {
      const parent = sub(r.parent);
      const kept = ctx.clash;
      const child = sub(r.child);
      const on = pairsOf(parent.cols, child.cols, r.on);
      if (on.length === 0) return dropped(parent, kept);
      const as = NEST_NAMES[r.as % NEST_NAMES.length] as string;
      // tributary refuses an `as` the parent already has (MERGE_FAILED or PLAN_INVALID).
      if (parent.cols.some((c) => c.name === as)) ctx.clash = true;
      const cond = on.map(([p, c]) => `${sqlColumn(p, 'p')} = ${sqlColumn(c, 'c')}`).join(' AND ');
      const rows = `(SELECT coalesce(json_agg(json_build_array(${child.cols.map((c) => asText(c, 'c')).join(', ')})), '[]'::json)::text FROM (${child.sql}) c WHERE ${cond})`;
      const node = { op: 'nest', parent: parent.node, child: child.node, on: on.map(([p, c]) => [p.name, c.name]), as };
      return { node, sql: `SELECT p.*, ${rows} AS ${quote(as)} FROM (${parent.sql}) p`, cols: [...parent.cols, { name: as, type: 'nest', children: child.cols }] };
    }
    case 'project': {
      const input = sub(r.input);
      if (input.cols.length === 0) return input;
      const picked = dedupe(r.cols.map(({ c, as }) => {
        const col = input.cols[c % input.cols.length] as OutCol;
        return { from: col, as: as === null ? col.name : (RENAMES[as % RENAMES.length] as string) };
      }), (p) => p.as);
      const columns = picked.map((p) => (p.as === p.from.name ? p.as : { column: p.from.name, as: p.as }));
      const sql = `SELECT ${picked.map((p) => `${quote(p.from.name)} AS ${quote(p.as)}`).join(', ')} FROM (${input.sql}) i`;
      return { node: { op: 'project', input: input.node, columns }, sql, cols: picked.map((p) => ({ ...p.from, name: p.as })) };
    }
    case 'filter': {
      const input = sub(r.input);
      const cols = typed(input.cols);
      if (cols.length === 0) return input;
      const where = buildPredicate(r.where, cols);
      return { node: { op: 'filter', input: input.node, where: where.plan }, sql: `SELECT * FROM (${input.sql}) i WHERE ${where.sql}`, cols: input.cols };
    }
    case 'aggregate': {
      const input = sub(r.input);
      const cols = typed(input.cols);
      const groupBy = cols.length === 0 || r.groupBy === null ? [] : dedupe(r.groupBy.map((p) => cols[p % cols.length] as TypedCol), (c) => c.name);
      const aggs = r.aggs.map((a) => {
        let as = `a${ctx.n++}`;
        while (groupBy.some((c) => c.name === as)) as = `a${ctx.n++}`;
        const col = a.c === null || cols.length === 0 ? undefined : (cols[a.c % cols.length] as TypedCol);
        const numeric = col !== undefined && family(col.type) === 'number';
        if (col === undefined || ((a.fn === 'sum' || a.fn === 'avg') && !numeric)) return { plan: { fn: 'count', as }, sql: `count(*)`, col: { name: as, type: 'big' as const } };
        const q = quote(col.name);
        if (a.fn === 'count') return { plan: { fn: 'count', column: col.name, as }, sql: `count(${q})`, col: { name: as, type: 'big' as const } };
        if (a.fn === 'sum') return { plan: { fn: 'sum', column: col.name, as }, sql: `sum(${q})::numeric`, col: { name: as, type: 'num' as const } };
        if (a.fn === 'avg') return { plan: { fn: 'avg', column: col.name, as }, sql: `(sum(${q})::numeric + 0::numeric(80,60)) / NULLIF(count(${q}), 0)`, col: { name: as, type: 'avg' as const } };
        const fn = col.type === 'bool' ? (a.fn === 'min' ? 'bool_and' : 'bool_or') : a.fn;
        return { plan: { fn: a.fn, column: col.name, as }, sql: `${fn}(${sqlColumn(col)})`, col: { name: as, type: col.type } };
      });
      const select = [...groupBy.map((c) => quote(c.name)), ...aggs.map((a) => `${a.sql} AS ${quote(a.col.name)}`)];
      const sql = `SELECT ${select.join(', ')} FROM (${input.sql}) i${groupBy.length > 0 ? ` GROUP BY ${groupBy.map((c) => quote(c.name)).join(', ')}` : ''}`;
      const node = { op: 'aggregate', input: input.node, ...(groupBy.length > 0 ? { groupBy: groupBy.map((c) => c.name) } : {}), aggregates: aggs.map((a) => a.plan) };
      return { node, sql, cols: [...groupBy, ...aggs.map((a) => a.col)] };
    }
    case 'sort': {
      const input = sub(r.input);
      const cols = typed(input.cols);
      if (cols.length === 0) return input;
      const by = r.by.map((k) => ({ column: (cols[k.c % cols.length] as TypedCol).name, desc: k.desc, ...(k.nulls ? { nulls: k.nulls } : {}) }));
      return { node: { op: 'sort', input: input.node, by }, sql: input.sql, cols: input.cols };
    }
    case 'topn': {
      const input = sub(r.input);
      const keys = typed(input.cols);
      // Only a sort by every column orders the rows totally (ties are equal rows).
      if (keys.length === 0 || keys.length !== input.cols.length) return input;
      const by = keys.map((c, k) => ({ col: c, desc: r.desc[k % r.desc.length] as boolean, nulls: r.nulls[k % r.nulls.length] ?? null }));
      const sortNode = { op: 'sort', input: input.node, by: by.map((b) => ({ column: b.col.name, desc: b.desc, ...(b.nulls ? { nulls: b.nulls } : {}) })) };
      const node = { op: 'limit', input: sortNode, n: r.n, ...(r.offset === null ? {} : { offset: r.offset }) };
      const order = by.map((b) => `${sqlColumn(b.col, 'i')} ${b.desc ? 'DESC' : 'ASC'}${b.nulls ? ` NULLS ${b.nulls.toUpperCase()}` : ''}`).join(', ');
      return { node, sql: `SELECT * FROM (${input.sql}) i ORDER BY ${order} LIMIT ${r.n} OFFSET ${r.offset ?? 0}`, cols: input.cols };
    }
    case 'limit': {
      const input = sub(r.input);
      const n = r.all ? 1_000_000 : 0;
      const offset = r.offset === 'none' ? undefined : r.offset === 'zero' ? 0 : 1_000_000;
      const node = { op: 'limit', input: input.node, n, ...(offset === undefined ? {} : { offset }) };
      return { node, sql: `SELECT * FROM (${input.sql}) i LIMIT ${n} OFFSET ${offset ?? 0}`, cols: input.cols };
    }
    default:
      return r satisfies never;
  }
}

/** Join or nest key pairs, each between columns of one type family (none: no such step). */
export function pairsOf(left: OutCol[], right: OutCol[], picks: [number, number][]): [TypedCol, TypedCol][] {
  const on: [TypedCol, TypedCol][] = [];
  for (const [a, b] of picks) {
    const l = typed(left)[a % Math.max(1, typed(left).length)];
    const rights = typed(right).filter((c) => l !== undefined && family(c.type) === family(l.type));
    // Mostly the namesake column (id = id, k = k), so that joins find rows.
    const namesake = rights.find((c) => c.name === l?.name);
    if (l && rights.length > 0) on.push([l, namesake && b % 4 !== 0 ? namesake : (rights[b % rights.length] as TypedCol)]);
  }
  return on;
}

/** The cast that gives each column's value as text the comparison reads. */
function asText(c: OutCol, alias = 'x'): string {
  const q = `${alias}.${quote(c.name)}`;
  if (c.type === 'date') return `to_char(${q}, 'YYYY-MM-DD')`;
  if (c.type === 'ts') return `to_char(${q}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  return `${q}::text`;
}

export function translate(recipe: PlanRecipe, names: PhysicalNames): Translated {
  const frags: Rel[] = [];
  const fragments = recipe.fragments.map((r, i) => {
    const { fragment, rel } = buildFragment(i, r, recipe, names, frags);
    frags.push(rel);
    return fragment;
  });
  const plan: Record<string, unknown> = { fragments };
  const ctx: Ctx = { n: 0, clash: false };
  const merged = buildMerge(recipe.merge, frags, ctx);
  if (ctx.clash) return { plan: { ...plan, merge: merged.node }, sql: '', cols: [], ordered: false, fails: 'MERGE_FAILED' };
  let node = merged.node;
  let tail = '';
  let ordered = false;
  const keys = typed(merged.cols);
  if (recipe.top && keys.length > 0) {
    const top = recipe.top;
    const by = keys.map((c, k) => ({ column: c.name, desc: top.desc[k % top.desc.length] as boolean, nulls: top.nulls[k % top.nulls.length] ?? null }));
    node = { op: 'sort', input: node, by: by.map((b) => ({ column: b.column, desc: b.desc, ...(b.nulls ? { nulls: b.nulls } : {}) })) };
    tail = ` ORDER BY ${by.map((b, k) => `${sqlColumn(keys[k] as TypedCol, 'x')} ${b.desc ? 'DESC' : 'ASC'}${b.nulls ? ` NULLS ${b.nulls.toUpperCase()}` : ''}`).join(', ')}`;
    // An average is no sort key (a double against PostgreSQL's exact quotient), so rows that
    // tie on every other column have no fixed order: no limit then, and compared as multisets.
    ordered = keys.length === merged.cols.length;
    if (top.limit && ordered) {
      node = { op: 'limit', input: node, n: top.limit.n, ...(top.limit.offset === null ? {} : { offset: top.limit.offset }) };
      tail += ` LIMIT ${top.limit.n} OFFSET ${top.limit.offset ?? 0}`;
    }
  }
  plan.merge = node;
  const select = merged.cols.length === 0 ? '1' : merged.cols.map((c) => asText(c)).join(', ');
  return { plan, sql: `SELECT ${select} FROM (${merged.sql}) x${tail}`, cols: merged.cols, ordered };
}
