import type { ExecutorOptions } from '../../src/index.js';
import type { FragmentRecipe, MergeRecipe, PlanRecipe, PredRecipe } from './arbitraries.js';
import { isFromRef, isParamRef, refsIn } from './ref-values.js';
import { SQL_TABLES, TABLES, TABLE_NAMES, type Tables } from './world.js';

/** Turns a recipe into a plan, tracking the columns in scope so picks land on real names. */

interface Col {
  name: string;
  nested: boolean;
  benign: boolean;
}

export interface BuiltCase {
  plan: Record<string, unknown>;
  tables: Tables;
  executorOptions: Omit<ExecutorOptions, 'sources'>;
  memMax: number | undefined;
  sqlMax: number | undefined;
}

const IDS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
const PROTO_IDS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'f-6', '_7'];
const LITERALS: unknown[] = [null, 0, 1, 2, 3, -1, 0.5, -1.25, 'a', 'b', '10', '', 'é', true, false, { $param: 'p1' }, { $param: 'p2' }, { $param: 'pn' }, 2.75, 0, 1, 2, 'a', 'B'];
const SQL_EXTRAS: [string, unknown?][] = [['k IS NOT NULL'], ['id > ?', 2], ['id <= ?', { $param: 'p1' }], ['s = ?', { $param: 'p2' }], ['k = ?', { $param: 'pn' }], ['s IS NULL']];

const literal = (i: number): unknown => structuredClone(LITERALS[i % LITERALS.length]);
const scalars = (cols: Col[]): Col[] => cols.filter((c) => !c.nested);
const colAt = (cols: Col[], p: number): string => (p === 999 || cols.length === 0 ? 'nope' : cols[p % cols.length]!.name);
const dedupe = <T>(items: T[], key: (t: T) => unknown = (t) => t): T[] => items.filter((t, i) => items.findIndex((u) => key(u) === key(t)) === i);

function buildPred(r: PredRecipe, cols: Col[]): unknown {
  switch (r.t) {
    case 'cmp':
      return { [r.op]: [colAt(cols, r.col), literal(r.val)] };
    case 'in':
      if (r.param) return { in: [colAt(cols, r.col), { $param: r.vals[0] === 7 ? 'p1' : 'pl' }] };
      return { in: [colAt(cols, r.col), r.vals.map(literal)] };
    case 'isNull':
      return { isNull: colAt(cols, r.col) };
    case 'and':
    case 'or':
      return { [r.t]: r.ps.map((p) => buildPred(p, cols)) };
    case 'not':
      return { not: buildPred(r.p, cols) };
    default:
      return r satisfies never;
  }
}

function buildFragment(i: number, r: FragmentRecipe, ids: string[], outs: Col[][]): { fragment: Record<string, unknown>; out: Col[] } {
  const table = r.sql ? SQL_TABLES[r.table % SQL_TABLES.length]! : TABLE_NAMES[r.table % TABLE_NAMES.length]!;
  const tcols: Col[] = TABLES[table].map((c) => ({ ...c, nested: false }));
  const selected = r.cols ? dedupe(r.cols.map((c) => tcols[c % tcols.length]!)) : tcols;
  const deps: string[] = [];
  const binds: { col: string; ref: { $from: string; column: string }; form: number }[] = [];
  if (i > 0) {
    for (const b of r.binds) {
      const up = b.up % i;
      // SQLite compares by its own rules: bind it only values it treats as the engine does.
      const candidates = r.sql ? outs[up]!.filter((c) => c.benign) : outs[up]!;
      const upCol = colAt(candidates, b.upCol);
      // Mostly bind a column to its namesake, so that bind joins find rows.
      const col = b.col % 3 !== 0 && tcols.some((c) => c.name === upCol) ? upCol : tcols[b.col % tcols.length]!.name;
      binds.push({ col, ref: { $from: ids[up]!, column: upCol }, form: b.form });
      deps.push(ids[up]!);
    }
    for (const d of r.extraDeps) deps.push(ids[d % i]!);
  }

  let query: Record<string, unknown>;
  let batchParam: number | undefined;
  if (r.sql) {
    const parts: string[] = [];
    const params: unknown[] = [];
    for (const b of binds) {
      parts.push(`${b.col} ${b.form === 1 ? 'NOT IN' : 'IN'} (SELECT value FROM json_each(?))`);
      params.push(b.ref);
    }
    if (r.sqlExtra !== null) {
      const [text, value] = SQL_EXTRAS[r.sqlExtra % SQL_EXTRAS.length]!;
      parts.push(text);
      if (value !== undefined) params.push(structuredClone(value));
    }
    const where = parts.length > 0 ? ` WHERE ${parts.join(binds[0]?.form === 2 ? ' OR ' : ' AND ')}` : '';
    const columns = r.cols ? selected.map((c) => c.name).join(', ') : '*';
    query = { sql: `SELECT ${columns} FROM ${r.broken ? 'nope' : table}${where}${r.orderBy ? ' ORDER BY rowid' : ''}`, params };
    if (r.batch && binds.length > 0) batchParam = r.batch.which % binds.length;
  } else {
    let where = r.where ? buildPred(r.where, tcols) : undefined;
    for (const b of binds) {
      const bound = { in: [b.col, b.ref] };
      const part = b.form === 1 ? { not: bound } : bound;
      if (where === undefined) where = part;
      else where = b.form === 2 ? { or: [where, part] } : b.form === 3 ? { and: [part, where] } : { and: [where, part] };
    }
    query = { table: r.broken ? 'nope' : table, ...(r.cols ? { columns: selected.map((c) => c.name) } : {}), ...(where === undefined ? {} : { where }) };
    const refs = refsIn(query);
    const froms = refs.flatMap((ref, k) => (isFromRef(ref.ref) ? [k] : []));
    const params = refs.flatMap((ref, k) => (isParamRef(ref.ref) ? [k] : []));
    // Now and then batch a $param, which validation must refuse.
    if (r.batch && froms.length > 0) batchParam = r.batch.which === 3 && params.length > 0 ? params[0] : froms[r.batch.which % froms.length];
  }

  const fragment: Record<string, unknown> = { id: ids[i], source: r.sql ? 'sql' : 'mem', query };
  if (deps.length > 0) fragment.dependsOn = deps;
  if (batchParam !== undefined) fragment.batch = { param: batchParam, size: r.batch!.size };
  if (r.timeoutMs !== null) fragment.timeoutMs = r.timeoutMs;
  if (r.attempts !== null) fragment.retry = { attempts: r.attempts };
  if (r.cache !== null) fragment.cache = [false, { ttlMs: 0 }, { ttlMs: 60_000, tags: ['fuzz'] }][r.cache];
  return { fragment, out: selected };
}

function buildMerge(r: MergeRecipe, ids: string[], outs: Col[][]): { node: unknown; cols: Col[] } {
  const sub = (m: MergeRecipe) => buildMerge(m, ids, outs);
  switch (r.op) {
    case 'leaf':
      return { node: ids[r.f % ids.length], cols: outs[r.f % ids.length]! };
    case 'union': {
      const inputs = r.inputs.map(sub);
      const cols = dedupe(inputs.flatMap((x) => x.cols), (c) => c.name);
      return { node: { op: 'union', inputs: inputs.map((x) => x.node), ...(r.distinct === null ? {} : { distinct: r.distinct }) }, cols };
    }
    case 'join': {
      const left = sub(r.left);
      const right = sub(r.right);
      const on = r.on.map(([a, b]) => [colAt(scalars(left.cols), a), colAt(scalars(right.cols), b)]);
      // `rightAs`: a name of its own, or one that may clash (`right`, a fragment id).
      const rightAs = r.rightAs === null || r.rightAs === undefined ? undefined : (['r', 'r2', 'right', ids[0]!][r.rightAs] as string);
      const node = { op: 'join', type: r.type, left: left.node, right: right.node, on, ...(rightAs === undefined ? {} : { rightAs }) };
      if (r.type === 'semi' || r.type === 'anti') return { node, cols: left.cols };
      const prefix = rightAs ?? (typeof right.node === 'string' ? right.node : 'right');
      const taken = left.cols.map((c) => c.name);
      return { node, cols: [...left.cols, ...right.cols.map((c) => ({ ...c, name: taken.includes(c.name) ? `${prefix}.${c.name}` : c.name }))] };
    }
    case 'nest': {
      const parent = sub(r.parent);
      const child = sub(r.child);
      const as = r.as < 8 ? `n${r.as}` : colAt(parent.cols, r.as);
      const on = r.on.map(([a, b]) => [colAt(scalars(parent.cols), a), colAt(scalars(child.cols), b)]);
      return { node: { op: 'nest', parent: parent.node, child: child.node, on, as }, cols: [...parent.cols.filter((c) => c.name !== as), { name: as, nested: true, benign: false }] };
    }
    case 'project': {
      const input = sub(r.input);
      let picked = r.cols.map(({ c, rename }, k) => ({ from: colAt(input.cols, c), as: rename ? `p${k}` : colAt(input.cols, c) }));
      if (!r.dup) picked = dedupe(picked, (p) => p.as);
      const columns = picked.map((p) => (p.from === p.as ? p.from : { column: p.from, as: p.as }));
      const cols = picked.map((p) => ({ name: p.as, nested: input.cols.find((c) => c.name === p.from)?.nested ?? false, benign: false }));
      return { node: { op: 'project', input: input.node, columns }, cols };
    }
    case 'filter': {
      const input = sub(r.input);
      return { node: { op: 'filter', input: input.node, where: buildPred(r.where, input.cols) }, cols: input.cols };
    }
    case 'aggregate': {
      const input = sub(r.input);
      const groupBy = r.groupBy === null ? undefined : dedupe(r.groupBy.map((p) => colAt(scalars(input.cols), p)));
      const aggregates = r.aggs.map((a, k) => {
        // A function other than count without a column is a plan mistake; keep it rare.
        if (a.c === null) return { fn: k === 2 ? a.fn : 'count', as: `a${k}` };
        return { fn: a.fn, column: colAt(scalars(input.cols), a.c), as: `a${k}` };
      });
      const names = [...(groupBy ?? []), ...aggregates.map((a) => a.as)];
      return { node: { op: 'aggregate', input: input.node, ...(groupBy ? { groupBy } : {}), aggregates }, cols: names.map((name) => ({ name, nested: false, benign: false })) };
    }
    case 'sort': {
      const input = sub(r.input);
      const by = r.by.map((k) => ({ column: colAt(scalars(input.cols), k.c), ...(k.desc === null ? {} : { desc: k.desc }), ...(k.nulls === null ? {} : { nulls: k.nulls }) }));
      return { node: { op: 'sort', input: input.node, by }, cols: input.cols };
    }
    case 'limit': {
      const input = sub(r.input);
      return { node: { op: 'limit', input: input.node, n: r.n, ...(r.offset === null ? {} : { offset: r.offset }) }, cols: input.cols };
    }
    default:
      return r satisfies never;
  }
}

/** The plan, data and executor options of one recipe; the plan is fresh JSON (no shared objects). */
export function buildCase(recipe: PlanRecipe): BuiltCase {
  const ids = (recipe.protoIds ? PROTO_IDS : IDS).slice(0, recipe.fragments.length);
  const outs: Col[][] = [];
  const fragments = recipe.fragments.map((r, i) => {
    const { fragment, out } = buildFragment(i, r, ids, outs);
    outs.push(out);
    return fragment;
  });
  const shift = recipe.rotate % fragments.length;
  const plan: Record<string, unknown> = { fragments: [...fragments.slice(shift), ...fragments.slice(0, shift)] };
  if (recipe.merge) {
    const built = buildMerge(recipe.merge, ids, outs);
    const cols = built.cols;
    let node = built.node;
    const top = recipe.topSort;
    if (top && scalars(cols).length > 0) {
      const by = scalars(cols).map((c, k) => ({ column: c.name, desc: top.desc[k % top.desc.length]!, ...(top.nulls[k % top.nulls.length] ? { nulls: top.nulls[k % top.nulls.length]! } : {}) }));
      node = { op: 'sort', input: node, by };
      if (top.limit) node = { op: 'limit', input: node, n: top.limit[0], ...(top.limit[1] === null ? {} : { offset: top.limit[1] }) };
    }
    plan.merge = node;
  }
  if (recipe.errorPolicy) plan.errorPolicy = recipe.errorPolicy;
  if (recipe.schedule) plan.schedule = recipe.schedule;
  return {
    plan: JSON.parse(JSON.stringify(plan)) as Record<string, unknown>,
    tables: recipe.tables,
    executorOptions: { concurrency: recipe.exec.concurrency, ...(recipe.exec.cache ? {} : { cache: false }) },
    memMax: recipe.exec.memMax ?? undefined,
    sqlMax: recipe.exec.sqlMax ?? undefined,
  };
}
