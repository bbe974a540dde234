import { readColumns, refPredicate } from './ref-predicate.js';
import { RefFailure, columnsOf, compareTotal, declaredColumns, isNull, nullOrSame, own, pick, put, same, type Row } from './ref-values.js';

/**
 * The reference merge tree: every operator of DESIGN.md's grammar as the plainest code that
 * could work (nested loops, no hashing), following the documented row orders.
 */

export interface Rel {
  rows: Row[];
  columns: string[];
  /** Every source below declared its columns: a step reading another column is a mistake. */
  named?: boolean;
  /** An input below showed no columns at all (no rows, none declared): a project cannot check. */
  open?: boolean;
}

/** Fails when `input` declared its columns and `column` is not one of them. */
function needs(input: Rel, columns: readonly (string | undefined)[]): void {
  if (input.named !== true) return;
  for (const c of columns) if (c !== undefined && !input.columns.includes(c)) throw new RefFailure(`no column ${c}`);
}


/** What the evaluation saw, for deciding how results are compared. */
export interface MergeNotes {
  /** The input columns of each sort node. */
  sortInputs: Map<object, string[]>;
}

type Node = string | Record<string, unknown>;
type Pairs = [string, string][];

function matches(l: Row, r: Row, on: Pairs): boolean {
  return on.every(([lc, rc]) => {
    const a = own(l, lc);
    const b = own(r, rc);
    return !isNull(a) && !isNull(b) && same(a, b);
  });
}

function unique(columns: readonly string[]): void {
  columns.forEach((c, i) => {
    if (columns.indexOf(c) !== i) throw new RefFailure(`column ${c} twice`);
  });
}

function union(inputs: Rel[], distinct: boolean): Rel {
  const columns: string[] = [];
  for (const input of inputs) for (const c of input.columns) if (!columns.includes(c)) columns.push(c);
  const rows: Row[] = [];
  for (const input of inputs) {
    for (const row of input.rows) {
      const out = pick(row, columns);
      if (distinct && rows.some((kept) => columns.every((c) => nullOrSame(own(kept, c), own(out, c))))) continue;
      rows.push(out);
    }
  }
  return { rows, columns, named: inputs.every((input) => input.named === true), open: inputs.some((input) => input.open === true) };
}

function join(left: Rel, right: Rel, type: string, on: Pairs, rightName: string): Rel {
  needs(left, on.map(([l]) => l));
  needs(right, on.map(([, r]) => r));
  if (type === 'semi' || type === 'anti') {
    const wanted = type === 'semi';
    return { rows: left.rows.filter((l) => right.rows.some((r) => matches(l, r, on)) === wanted), columns: [...left.columns], named: left.named === true, open: left.open === true };
  }
  const taken = [...left.columns];
  const rightNames = right.columns.map((c) => {
    const name = taken.includes(c) ? `${rightName}.${c}` : c;
    if (taken.includes(name)) throw new RefFailure(`renamed column ${name} clashes`);
    taken.push(name);
    return name;
  });
  const build = (l: Row, r: Row | undefined): Row => {
    const out = pick(l, left.columns);
    right.columns.forEach((c, k) => put(out, rightNames[k]!, r === undefined ? null : (own(r, c) ?? null)));
    return out;
  };
  const rows: Row[] = [];
  for (const l of left.rows) {
    const found = right.rows.filter((r) => matches(l, r, on));
    for (const r of found) rows.push(build(l, r));
    if (found.length === 0 && type === 'left') rows.push(build(l, undefined));
  }
  return { rows, columns: [...left.columns, ...rightNames], named: left.named === true && right.named === true, open: left.open === true || right.open === true };
}

function nest(parent: Rel, child: Rel, on: Pairs, as: string): Rel {
  needs(parent, on.map(([p]) => p));
  needs(child, on.map(([, c]) => c));
  // An `as` the parent already has (named, or seen in a row) would overwrite it: refused.
  if (parent.columns.includes(as)) throw new RefFailure(`nest as ${as} is a parent column`);
  const columns = [...parent.columns, as];
  const rows = parent.rows.map((row) => {
    const out = pick(row, parent.columns);
    put(out, as, child.rows.filter((c) => matches(row, c, on)));
    return out;
  });
  return { rows, columns, named: parent.named === true, open: parent.open === true };
}

function project(input: Rel, spec: unknown[]): Rel {
  const pairs = spec.map((c) => (typeof c === 'string' ? [c, c] : [(c as { column: string }).column, (c as { as: string }).as]) as [string, string]);
  const names = pairs.map(([, as]) => as);
  unique(names);
  // Checked whenever the columns are known: there are rows, or the source named them, and no
  // input below showed none at all (a failed or unbound fragment's columns may be missing).
  if (input.open !== true && (input.rows.length > 0 || input.columns.length > 0)) {
    for (const [from] of pairs) if (!input.columns.includes(from)) throw new RefFailure(`no column ${from}`);
  }
  const rows = input.rows.map((row) => {
    const out: Row = {};
    for (const [from, as] of pairs) put(out, as, own(row, from) ?? null);
    return out;
  });
  return { rows, columns: names, named: input.named === true };
}

interface AggSpec {
  fn: string;
  column?: string;
  as: string;
}

function aggregateOne(a: AggSpec, rows: Row[]): unknown {
  if (a.fn === 'count') return a.column === undefined ? rows.length : rows.filter((r) => !isNull(own(r, a.column!))).length;
  const values = rows.map((r) => own(r, a.column!)).filter((v) => !isNull(v));
  if (a.fn === 'sum' || a.fn === 'avg') {
    if (values.length === 0) return null;
    let total = 0;
    for (const v of values) total += Number(v);
    return a.fn === 'sum' ? total : total / values.length;
  }
  let best: unknown = null;
  for (const v of values) {
    if (best === null) best = v;
    else if (a.fn === 'min' ? compareTotal(v, best) < 0 : compareTotal(v, best) > 0) best = v;
  }
  return best;
}

function aggregate(input: Rel, groupBy: string[], aggregates: AggSpec[]): Rel {
  const columns = [...groupBy, ...aggregates.map((a) => a.as)];
  unique(columns);
  for (const a of aggregates) if (a.column === undefined && a.fn !== 'count') throw new RefFailure(`${a.fn} without a column`);
  needs(input, [...groupBy, ...aggregates.map((a) => a.column)]);
  for (const a of aggregates) {
    if (a.fn !== 'sum' && a.fn !== 'avg') continue;
    for (const row of input.rows) {
      const v = own(row, a.column!);
      if (!isNull(v) && typeof v !== 'number' && typeof v !== 'bigint') throw new RefFailure(`cannot add up ${typeof v}`);
    }
  }
  const groups: Row[][] = [];
  for (const row of input.rows) {
    const group = groups.find((g) => groupBy.every((c) => nullOrSame(own(g[0]!, c), own(row, c))));
    if (group) group.push(row);
    else groups.push([row]);
  }
  if (groupBy.length === 0 && groups.length === 0) groups.push([]);
  const rows = groups.map((group) => {
    const out: Row = {};
    for (const c of groupBy) put(out, c, (group[0] && own(group[0], c)) ?? null);
    for (const a of aggregates) put(out, a.as, aggregateOne(a, group) ?? null);
    return out;
  });
  return { rows, columns, named: input.named === true };
}

interface SortKey {
  column: string;
  desc?: boolean;
  nulls?: 'first' | 'last';
}

function before(a: Row, b: Row, by: SortKey[]): number {
  for (const key of by) {
    const x = own(a, key.column);
    const y = own(b, key.column);
    const nullsFirst = (key.nulls ?? (key.desc === true ? 'first' : 'last')) === 'first';
    if (isNull(x) && isNull(y)) continue;
    if (isNull(x)) return nullsFirst ? -1 : 1;
    if (isNull(y)) return nullsFirst ? 1 : -1;
    const c = compareTotal(x, y) * (key.desc === true ? -1 : 1);
    if (c !== 0) return c;
  }
  return 0;
}

/** A stable insertion sort: each row goes after every row that is not greater. */
function sort(input: Rel, by: SortKey[]): Rel {
  const rows: Row[] = [];
  for (const row of input.rows) {
    let at = rows.length;
    while (at > 0 && before(rows[at - 1]!, row, by) > 0) at--;
    rows.splice(at, 0, row);
  }
  return { rows, columns: [...input.columns] };
}

/** Evaluates a merge tree over the fragment rows (a missing fragment counts as no rows). */
export function refMerge(node: Node, inputs: ReadonlyMap<string, Row[]>, params: Readonly<Record<string, unknown>>, notes: MergeNotes): Rel {
  const ev = (n: unknown): Rel => refMerge(n as Node, inputs, params, notes);
  if (typeof node === 'string') {
    const rows = inputs.get(node) ?? [];
    const declared = declaredColumns(rows);
    return { rows, columns: declared ?? columnsOf(rows), named: declared !== undefined, open: declared === undefined && rows.length === 0 };
  }
  switch (node.op) {
    case 'union':
      return union((node.inputs as unknown[]).map(ev), node.distinct === true);
    case 'join':
      return join(ev(node.left), ev(node.right), node.type as string, node.on as Pairs, typeof node.rightAs === 'string' ? node.rightAs : typeof node.right === 'string' ? node.right : 'right');
    case 'nest':
      return nest(ev(node.parent), ev(node.child), node.on as Pairs, node.as as string);
    case 'project':
      return project(ev(node.input), node.columns as unknown[]);
    case 'filter': {
      const input = ev(node.input);
      needs(input, readColumns(node.where));
      const test = refPredicate(node.where, params);
      return { rows: input.rows.filter((row) => test(row) === true), columns: [...input.columns], named: input.named === true, open: input.open === true };
    }
    case 'aggregate':
      return aggregate(ev(node.input), (node.groupBy as string[] | undefined) ?? [], node.aggregates as AggSpec[]);
    case 'sort': {
      const input = ev(node.input);
      notes.sortInputs.set(node, input.columns);
      needs(input, (node.by as SortKey[]).map((k) => k.column));
      return { ...sort(input, node.by as SortKey[]), named: input.named === true, open: input.open === true };
    }
    case 'limit': {
      const input = ev(node.input);
      const offset = (node.offset as number | undefined) ?? 0;
      return { rows: input.rows.slice(offset, offset + (node.n as number)), columns: [...input.columns], named: input.named === true, open: input.open === true };
    }
    default:
      throw new Error(`reference: unknown merge op ${String(node.op)}`);
  }
}

/**
 * Whether the plan fixes the order of its result: the root is, through limit / filter /
 * project, a sort whose keys cover every column of its input.
 */
export function definesOrder(node: Node, notes: MergeNotes): boolean {
  let at: unknown = node;
  while (typeof at === 'object' && at !== null) {
    const n = at as Record<string, unknown>;
    if (n.op === 'sort') {
      const keys = (n.by as SortKey[]).map((k) => k.column);
      return (notes.sortInputs.get(n) ?? []).every((c) => keys.includes(c));
    }
    if (n.op !== 'limit' && n.op !== 'filter' && n.op !== 'project') return false;
    at = n.input;
  }
  return false;
}
