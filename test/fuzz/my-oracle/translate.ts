import { buildPredicate, quote, type TypedCol } from '../pg-oracle/predicates.js';
import type { FragmentRecipe, MergeRecipe } from '../pg-oracle/recipe.js';
import { family, TABLE_NAMES, TABLES, type ColType, type TableName } from '../pg-oracle/schema.js';
import { binds, dedupe, NEST_NAMES, pairsOf, RENAMES, typed, widest, type OutCol, type Translated } from '../pg-oracle/translate.js';
import { myPredicate, myQuote as q } from './predicates.js';
import type { MyStores } from './stores.js';
import type { MyRecipe } from './world.js';

/**
 * A recipe as a tributary plan and as ONE MariaDB statement over the oracle's tables. The
 * plan is the one the PostgreSQL oracle builds from the same recipe (test/fuzz/pg-oracle/
 * translate.ts), with each fragment's query for its own source; the statement mirrors it step
 * by step in MariaDB's dialect:
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

interface Rel {
  node: unknown;
  sql: string;
  cols: OutCol[];
}

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

interface Ctx {
  n: number;
  clash: boolean;
}

function buildMerge(r: MergeRecipe, frags: Rel[], ctx: Ctx): Rel {
  const sub = (m: MergeRecipe): Rel => buildMerge(m, frags, ctx);
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
      // `sum/count` and a nest's JSON are text here: equal values may be spelt apart.
      if (r.distinct && cols.some((c) => c.type === 'avg' || c.type === 'nest')) return dropped(first, kept);
      const arms = inputs.map((x) => `SELECT ${cols.map((c) => `${armCol(c, c.type, x.cols.some((o) => o.name === c.name))} AS ${q(c.name)}`).join(', ')} FROM (${x.sql}) u`);
      const all = arms.map((a) => `(${a})`).join(' UNION ALL ');
      return { node: { op: 'union', inputs: inputs.map((x) => x.node), distinct: r.distinct }, sql: r.distinct ? `SELECT DISTINCT * FROM (${all}) d` : all, cols };
    }
    case 'join': {
      const left = sub(r.left);
      const kept = ctx.clash;
      const right = sub(r.right);
      const on = pairsOf(left.cols, right.cols, r.on);
      if (on.length === 0) return dropped(left, kept);
      const rightAs = r.rightAs === null ? undefined : (['r', 'right', 'f0', 'q'][r.rightAs] as string);
      const node = { op: 'join', type: r.type, left: left.node, right: right.node, on: on.map(([l, rr]) => [l.name, rr.name]), ...(rightAs === undefined ? {} : { rightAs }) };
      const cond = on.map(([l, rr]) => `l.${q(l.name)} = r.${q(rr.name)}`).join(' AND ');
      if (r.type === 'semi' || r.type === 'anti') {
        return { node, sql: `SELECT l.* FROM (${left.sql}) l WHERE ${r.type === 'anti' ? 'NOT ' : ''}EXISTS (SELECT 1 FROM (${right.sql}) r WHERE ${cond})`, cols: left.cols };
      }
      const prefix = rightAs ?? (typeof right.node === 'string' ? right.node : 'right');
      const taken = new Set(left.cols.map((c) => c.name));
      const rightCols = right.cols.map((c) => {
        const name = taken.has(c.name) ? `${prefix}.${c.name}` : c.name;
        if (taken.has(name)) ctx.clash = true;
        taken.add(name);
        return { ...c, name, from: c.name };
      });
      const select = [...left.cols.map((c) => `l.${q(c.name)} AS ${q(c.name)}`), ...rightCols.map((c) => `r.${q(c.from)} AS ${q(c.name)}`)];
      const sql = `SELECT ${select.join(', ')} FROM (${left.sql}) l ${r.type === 'left' ? 'LEFT JOIN' : 'JOIN'} (${right.sql}) r ON ${cond}`;
      return { node, sql, cols: [...left.cols, ...rightCols.map(({ from: _from, ...c }) => c)] };
    }
    case 'nest': {
      const parent = sub(r.parent);
      const kept = ctx.clash;
      const child = sub(r.child);
      const on = pairsOf(parent.cols, child.cols, r.on);
      if (on.length === 0) return dropped(parent, kept);
      const as = NEST_NAMES[r.as % NEST_NAMES.length] as string;
      if (parent.cols.some((c) => c.name === as)) ctx.clash = true;
      const cond = on.map(([p, c]) => `p.${q(p.name)} = c.${q(c.name)}`).join(' AND ');
      // Every child cell as text (a number too, which JSON_ARRAY would keep a JSON number).
      const cells = child.cols.map((c) => (c.type === 'text' || c.type === 'avg' ? `c.${q(c.name)}` : `CONCAT('', ${asText(c, 'c')})`));
      const rows = `(SELECT COALESCE(JSON_ARRAYAGG(JSON_ARRAY(${cells.join(', ')})), '[]') FROM (${child.sql}) c WHERE ${cond})`;
      const node = { op: 'nest', parent: parent.node, child: child.node, on: on.map(([p, c]) => [p.name, c.name]), as };
      return { node, sql: `SELECT p.*, ${rows} AS ${q(as)} FROM (${parent.sql}) p`, cols: [...parent.cols, { name: as, type: 'nest', children: child.cols }] };
    }
    case 'project': {
      const input = sub(r.input);
      if (input.cols.length === 0) return input;
      const picked = dedupe(r.cols.map(({ c, as }) => {
        const col = input.cols[c % input.cols.length] as OutCol;
        return { from: col, as: as === null ? col.name : (RENAMES[as % RENAMES.length] as string) };
      }), (p) => p.as);
      const columns = picked.map((p) => (p.as === p.from.name ? p.as : { column: p.from.name, as: p.as }));
      const sql = `SELECT ${picked.map((p) => `${q(p.from.name)} AS ${q(p.as)}`).join(', ')} FROM (${input.sql}) i`;
      return { node: { op: 'project', input: input.node, columns }, sql, cols: picked.map((p) => ({ ...p.from, name: p.as })) };
    }
    case 'filter': {
      const input = sub(r.input);
      const cols = typed(input.cols);
      if (cols.length === 0) return input;
      const where = myPredicate(r.where, cols);
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
        if (col === undefined || ((a.fn === 'sum' || a.fn === 'avg') && !numeric)) return { plan: { fn: 'count', as }, sql: 'COUNT(*)', col: { name: as, type: 'big' as const } };
        const c = q(col.name);
        if (a.fn === 'count') return { plan: { fn: 'count', column: col.name, as }, sql: `COUNT(${c})`, col: { name: as, type: 'big' as const } };
        if (a.fn === 'sum') return { plan: { fn: 'sum', column: col.name, as }, sql: `CAST(SUM(${c}) AS DECIMAL(65,12))`, col: { name: as, type: 'num' as const } };
        if (a.fn === 'avg') return { plan: { fn: 'avg', column: col.name, as }, sql: `CONCAT(SUM(${c}), '/', COUNT(${c}))`, col: { name: as, type: 'avg' as const } };
        return { plan: { fn: a.fn, column: col.name, as }, sql: `${a.fn.toUpperCase()}(${c})`, col: { name: as, type: col.type } };
      });
      const select = [...groupBy.map((c) => q(c.name)), ...aggs.map((a) => `${a.sql} AS ${q(a.col.name)}`)];
      const sql = `SELECT ${select.join(', ')} FROM (${input.sql}) i${groupBy.length > 0 ? ` GROUP BY ${groupBy.map((c) => q(c.name)).join(', ')}` : ''}`;
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
      if (keys.length === 0 || keys.length !== input.cols.length) return input;
      const by = keys.map((c, k) => ({ col: c, desc: r.desc[k % r.desc.length] as boolean, nulls: r.nulls[k % r.nulls.length] ?? null }));
      const sortNode = { op: 'sort', input: input.node, by: by.map((b) => ({ column: b.col.name, desc: b.desc, ...(b.nulls ? { nulls: b.nulls } : {}) })) };
      const node = { op: 'limit', input: sortNode, n: r.n, ...(r.offset === null ? {} : { offset: r.offset }) };
      const order = by.map((b) => orderKey(`i.${q(b.col.name)}`, b.desc, b.nulls)).join(', ');
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

export function translateMy(recipe: MyRecipe, stores: MyStores): Translated {
  const frags: Rel[] = [];
  const fragments = recipe.plan.fragments.map((r, i) => {
    const { fragment, rel } = buildFragment(i, r, recipe, stores, frags);
    frags.push(rel);
    return fragment;
  });
  const plan: Record<string, unknown> = { fragments };
  const ctx: Ctx = { n: 0, clash: false };
  const merged = buildMerge(recipe.plan.merge, frags, ctx);
  if (ctx.clash) return { plan: { ...plan, merge: merged.node }, sql: '', cols: [], ordered: false, fails: 'MERGE_FAILED' };
  let node = merged.node;
  let tail = '';
  let ordered = false;
  const keys = typed(merged.cols);
  const top = recipe.plan.top;
  if (top && keys.length > 0) {
    const by = keys.map((c, k) => ({ column: c.name, desc: top.desc[k % top.desc.length] as boolean, nulls: top.nulls[k % top.nulls.length] ?? null }));
    node = { op: 'sort', input: node, by: by.map((b) => ({ column: b.column, desc: b.desc, ...(b.nulls ? { nulls: b.nulls } : {}) })) };
    tail = ` ORDER BY ${by.map((b) => orderKey(`x.${q(b.column)}`, b.desc, b.nulls)).join(', ')}`;
    // Only a sort by every column orders the rows totally (rows that tie are equal rows).
    ordered = keys.length === merged.cols.length;
    if (top.limit && ordered) {
      node = { op: 'limit', input: node, n: top.limit.n, ...(top.limit.offset === null ? {} : { offset: top.limit.offset }) };
      tail += ` LIMIT ${top.limit.n} OFFSET ${top.limit.offset ?? 0}`;
    }
  }
  plan.merge = node;
  const select = merged.cols.length === 0 ? '1' : merged.cols.map((c) => asText(c, 'x')).join(', ');
  return { plan, sql: `SELECT ${select} FROM (${merged.sql}) x${tail}`, cols: merged.cols, ordered };
}
