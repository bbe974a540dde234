import type { TypedCol } from './predicates.js';
import type { MergeRecipe, PlanRecipe } from './recipe.js';
import { family, type ColType } from './schema.js';

/**
 * The merge tree of a recipe as a tributary plan node and as one SQL statement, in the
 * dialect of whichever oracle asks (PostgreSQL: ./translate.ts, MariaDB:
 * ../my-oracle/translate.ts). Each step becomes a subquery that yields exactly the step's
 * columns, under the names tributary gives them (join renames included); what the two
 * servers spell apart — casts, text comparison, aggregates, nulls in ORDER BY, a nest's JSON —
 * is the dialect's.
 */

export interface OutCol {
  name: string;
  /**
   * `avg`: an average, compared as the exact quotient rounded (README, "Exact decimals");
   * `nest`: the child rows a nest attached, `children` their columns (given as a JSON array of
   * text rows).
   */
  type: ColType | 'avg' | 'nest';
  children?: OutCol[];
}

/** A fragment or merge step: its plan node, its SQL, and the columns it yields. */
export interface Rel {
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

type Aggregate = 'count' | 'sum' | 'avg' | 'min' | 'max';

/** What one server spells its own way. */
export interface SqlDialect {
  quote(name: string): string;
  /** The column of `alias` as an equality key compares it (text by code point). */
  key(col: TypedCol, alias: string): string;
  /** A union arm's cell for column `c` of the union (`present`: the arm has it; else a null). */
  unionCell(c: OutCol, present: boolean): string;
  /** Whether a DISTINCT union over these columns compares as tributary does. */
  distinctComparable(cols: OutCol[]): boolean;
  predicate(where: NonNullable<Extract<MergeRecipe, { op: 'filter' }>['where']>, cols: TypedCol[]): { plan: unknown; sql: string };
  /** An aggregate over `col` (none: `count(*)`). */
  aggregate(fn: Aggregate, col: TypedCol | undefined): string;
  /** The JSON array (as text) of the child rows of `child` that meet `cond` (aliases p, c). */
  nestRows(child: Rel, cond: string): string;
  /** An ORDER BY key of `alias`'s column: nulls where tributary puts them. */
  orderKey(col: TypedCol, alias: string, desc: boolean, nulls: 'first' | 'last' | null): string;
  /** The cell as the text the comparison reads. */
  asText(c: OutCol, alias: string): string;
}

export const NEST_NAMES = ['n0', 'n1', 'n2', 'n0', 'n1', 'n2', 'n0', 'id'];
export const RENAMES = ['p0', 'p1', 'id', 'k', 's', 'f1.id', 'right.k', 'f0.s', 'a0'];
export const typed = (cols: OutCol[]): TypedCol[] => cols.filter((c): c is TypedCol => c.type !== 'avg' && c.type !== 'nest');
export const dedupe = <T>(items: T[], key: (t: T) => string): T[] => items.filter((t, i) => items.findIndex((u) => key(u) === key(t)) === i);
/** Column types a bound list of `from` values can be compared with on every server. */
export const binds = (from: ColType, to: ColType): boolean => from === to || (from === 'int' && to === 'big');
export const widest = (a: OutCol['type'], b: OutCol['type']): OutCol['type'] => (a === 'num' || b === 'num' ? 'num' : a === 'big' || b === 'big' ? 'big' : a);

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

interface Ctx {
  n: number;
  clash: boolean;
  d: SqlDialect;
}

/** A step that cannot be built stands for its first input; what the others clashed on is gone. */
function dropped(ctx: Ctx, rel: Rel, clash: boolean): Rel {
  ctx.clash = clash;
  return rel;
}

function union(r: Extract<MergeRecipe, { op: 'union' }>, sub: (m: MergeRecipe) => Rel, ctx: Ctx): Rel {
  const { d } = ctx;
  const first = sub(r.inputs[0] as MergeRecipe);
  const kept = ctx.clash;
  const inputs = [first, ...r.inputs.slice(1).map(sub)];
  const cols: OutCol[] = [];
  for (const c of inputs.flatMap((x) => x.cols)) {
    const seen = cols.find((o) => o.name === c.name);
    if (!seen) cols.push({ ...c });
    else if (seen.type === 'avg' || seen.type === 'nest' || c.type === 'avg' || c.type === 'nest' || family(seen.type) !== family(c.type)) return dropped(ctx, first, kept);
    else seen.type = widest(seen.type, c.type);
  }
  if (r.distinct && !d.distinctComparable(cols)) return dropped(ctx, first, kept);
  const arms = inputs.map((x) => `SELECT ${cols.map((c) => `${d.unionCell(c, x.cols.some((o) => o.name === c.name))} AS ${d.quote(c.name)}`).join(', ')} FROM (${x.sql}) u`);
  const all = arms.map((a) => `(${a})`).join(' UNION ALL ');
  return { node: { op: 'union', inputs: inputs.map((x) => x.node), distinct: r.distinct }, sql: r.distinct ? `SELECT DISTINCT * FROM (${all}) d` : all, cols };
}

function join(r: Extract<MergeRecipe, { op: 'join' }>, sub: (m: MergeRecipe) => Rel, ctx: Ctx): Rel {
  const { d } = ctx;
  const left = sub(r.left);
  const kept = ctx.clash;
  const right = sub(r.right);
  const on = pairsOf(left.cols, right.cols, r.on);
  if (on.length === 0) return dropped(ctx, left, kept);
  // `rightAs`: a name of its own, or one that may clash again (`right`, a fragment id).
  const rightAs = r.rightAs === null ? undefined : (['r', 'right', 'f0', 'q'][r.rightAs] as string);
  const node = { op: 'join', type: r.type, left: left.node, right: right.node, on: on.map(([l, rr]) => [l.name, rr.name]), ...(rightAs === undefined ? {} : { rightAs }) };
  const cond = on.map(([l, rr]) => `${d.key(l, 'l')} = ${d.key(rr, 'r')}`).join(' AND ');
  if (r.type === 'semi' || r.type === 'anti') {
    return { node, sql: `SELECT l.* FROM (${left.sql}) l WHERE ${r.type === 'anti' ? 'NOT ' : ''}EXISTS (SELECT 1 FROM (${right.sql}) r WHERE ${cond})`, cols: left.cols };
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
  const select = [...left.cols.map((c) => `l.${d.quote(c.name)} AS ${d.quote(c.name)}`), ...rightCols.map((c) => `r.${d.quote(c.from)} AS ${d.quote(c.name)}`)];
  const sql = `SELECT ${select.join(', ')} FROM (${left.sql}) l ${r.type === 'left' ? 'LEFT JOIN' : 'JOIN'} (${right.sql}) r ON ${cond}`;
  return { node, sql, cols: [...left.cols, ...rightCols.map(({ from: _from, ...c }) => c)] };
}

function nest(r: Extract<MergeRecipe, { op: 'nest' }>, sub: (m: MergeRecipe) => Rel, ctx: Ctx): Rel {
  const { d } = ctx;
  const parent = sub(r.parent);
  const kept = ctx.clash;
  const child = sub(r.child);
  const on = pairsOf(parent.cols, child.cols, r.on);
  if (on.length === 0) return dropped(ctx, parent, kept);
  const as = NEST_NAMES[r.as % NEST_NAMES.length] as string;
  // tributary refuses an `as` the parent already has (MERGE_FAILED or PLAN_INVALID).
  if (parent.cols.some((c) => c.name === as)) ctx.clash = true;
  const cond = on.map(([p, c]) => `${d.key(p, 'p')} = ${d.key(c, 'c')}`).join(' AND ');
  const node = { op: 'nest', parent: parent.node, child: child.node, on: on.map(([p, c]) => [p.name, c.name]), as };
  return { node, sql: `SELECT p.*, ${d.nestRows(child, cond)} AS ${d.quote(as)} FROM (${parent.sql}) p`, cols: [...parent.cols, { name: as, type: 'nest', children: child.cols }] };
}

function aggregate(r: Extract<MergeRecipe, { op: 'aggregate' }>, input: Rel, ctx: Ctx): Rel {
  const { d } = ctx;
  const cols = typed(input.cols);
  const groupBy = cols.length === 0 || r.groupBy === null ? [] : dedupe(r.groupBy.map((p) => cols[p % cols.length] as TypedCol), (c) => c.name);
  const aggs = r.aggs.map((a): { plan: unknown; sql: string; col: OutCol } => {
    let as = `a${ctx.n++}`;
    while (groupBy.some((c) => c.name === as)) as = `a${ctx.n++}`;
    const col = a.c === null || cols.length === 0 ? undefined : (cols[a.c % cols.length] as TypedCol);
    const numeric = col !== undefined && family(col.type) === 'number';
    if (col === undefined || ((a.fn === 'sum' || a.fn === 'avg') && !numeric)) return { plan: { fn: 'count', as }, sql: d.aggregate('count', undefined), col: { name: as, type: 'big' } };
    const type = a.fn === 'count' ? 'big' : a.fn === 'sum' ? 'num' : a.fn === 'avg' ? 'avg' : col.type;
    return { plan: { fn: a.fn, column: col.name, as }, sql: d.aggregate(a.fn, col), col: { name: as, type } };
  });
  const select = [...groupBy.map((c) => d.quote(c.name)), ...aggs.map((a) => `${a.sql} AS ${d.quote(a.col.name)}`)];
  const sql = `SELECT ${select.join(', ')} FROM (${input.sql}) i${groupBy.length > 0 ? ` GROUP BY ${groupBy.map((c) => d.quote(c.name)).join(', ')}` : ''}`;
  const node = { op: 'aggregate', input: input.node, ...(groupBy.length > 0 ? { groupBy: groupBy.map((c) => c.name) } : {}), aggregates: aggs.map((a) => a.plan) };
  return { node, sql, cols: [...groupBy, ...aggs.map((a) => a.col)] };
}

function buildMerge(r: MergeRecipe, frags: Rel[], ctx: Ctx): Rel {
  const sub = (m: MergeRecipe): Rel => buildMerge(m, frags, ctx);
  const { d } = ctx;
  switch (r.op) {
    case 'leaf':
      return frags[r.f % frags.length] as Rel;
    case 'union':
      return union(r, sub, ctx);
    case 'join':
      return join(r, sub, ctx);
    case 'nest':
      return nest(r, sub, ctx);
    case 'project': {
      const input = sub(r.input);
      if (input.cols.length === 0) return input;
      const picked = dedupe(r.cols.map(({ c, as }) => {
        const col = input.cols[c % input.cols.length] as OutCol;
        return { from: col, as: as === null ? col.name : (RENAMES[as % RENAMES.length] as string) };
      }), (p) => p.as);
      const columns = picked.map((p) => (p.as === p.from.name ? p.as : { column: p.from.name, as: p.as }));
      const sql = `SELECT ${picked.map((p) => `${d.quote(p.from.name)} AS ${d.quote(p.as)}`).join(', ')} FROM (${input.sql}) i`;
      return { node: { op: 'project', input: input.node, columns }, sql, cols: picked.map((p) => ({ ...p.from, name: p.as })) };
    }
    case 'filter': {
      const input = sub(r.input);
      const cols = typed(input.cols);
      if (cols.length === 0) return input;
      const where = d.predicate(r.where, cols);
      return { node: { op: 'filter', input: input.node, where: where.plan }, sql: `SELECT * FROM (${input.sql}) i WHERE ${where.sql}`, cols: input.cols };
    }
    case 'aggregate':
      return aggregate(r, sub(r.input), ctx);
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
      const order = by.map((b) => d.orderKey(b.col, 'i', b.desc, b.nulls)).join(', ');
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

/**
 * The plan of `fragments` (built by the oracle, `frags` their SQL) with the recipe's merge
 * tree and final sort/limit, and the one statement that answers it in dialect `d`.
 */
export function translatePlan(fragments: Record<string, unknown>[], frags: Rel[], recipe: Pick<PlanRecipe, 'merge' | 'top'>, d: SqlDialect): Translated {
  const plan: Record<string, unknown> = { fragments };
  const ctx: Ctx = { n: 0, clash: false, d };
  const merged = buildMerge(recipe.merge, frags, ctx);
  if (ctx.clash) return { plan: { ...plan, merge: merged.node }, sql: '', cols: [], ordered: false, fails: 'MERGE_FAILED' };
  let node = merged.node;
  let tail = '';
  let ordered = false;
  const keys = typed(merged.cols);
  const { top } = recipe;
  if (top && keys.length > 0) {
    const by = keys.map((c, k) => ({ col: c, desc: top.desc[k % top.desc.length] as boolean, nulls: top.nulls[k % top.nulls.length] ?? null }));
    node = { op: 'sort', input: node, by: by.map((b) => ({ column: b.col.name, desc: b.desc, ...(b.nulls ? { nulls: b.nulls } : {}) })) };
    tail = ` ORDER BY ${by.map((b) => d.orderKey(b.col, 'x', b.desc, b.nulls)).join(', ')}`;
    // An average is no sort key (a double against the server's exact quotient), so rows that
    // tie on every other column have no fixed order: no limit then, and compared as multisets.
    ordered = keys.length === merged.cols.length;
    if (top.limit && ordered) {
      node = { op: 'limit', input: node, n: top.limit.n, ...(top.limit.offset === null ? {} : { offset: top.limit.offset }) };
      tail += ` LIMIT ${top.limit.n} OFFSET ${top.limit.offset ?? 0}`;
    }
  }
  plan.merge = node;
  const select = merged.cols.length === 0 ? '1' : merged.cols.map((c) => d.asText(c, 'x')).join(', ');
  return { plan, sql: `SELECT ${select} FROM (${merged.sql}) x${tail}`, cols: merged.cols, ordered };
}
