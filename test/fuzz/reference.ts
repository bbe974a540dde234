import { definesOrder, refMerge, type MergeNotes } from './ref-merge.js';
import { readColumns, refPredicate } from './ref-predicate.js';
import { RefFailure, declare, declaredColumns, isFromRef, isParamRef, own, put, refsIn, same, setAt, type Row } from './ref-values.js';

/**
 * The reference evaluation of a whole plan: fragments in dependency order (a plain fixpoint
 * loop), `$from` bind joins with batching, the error policy, then the reference merge tree.
 * It checks the graph rules it needs (ids, dependencies, leaves, parameters) so a mutated
 * plan it calls invalid must be rejected by the engine too.
 */

export interface RefWorld {
  /** Source name → what kind of source it is. */
  sources: Record<string, 'memory' | 'sqlite' | 'custom'>;
  /** The memory source's tables. */
  tables: Record<string, Row[]>;
  /** Runs SQL on a database holding the same rows; throws on a bad statement. */
  sql(text: string, params: unknown[]): Row[];
  /** The rows a custom source returns for a query. */
  custom?(query: unknown): Row[];
  params: Record<string, unknown>;
}

export type FragmentStatus = 'succeeded' | 'failed' | 'skipped';

export type Expected =
  | { kind: 'invalid'; why: string }
  | { kind: 'failed'; cause: 'fragment' | 'merge'; failed: string[] }
  | {
      kind: 'rows';
      status: 'ok' | 'partial';
      rows: Row[];
      columns: string[];
      ordered: boolean;
      fragments: Record<string, { status: FragmentStatus; rowCount: number }>;
    };

interface FragmentShape {
  id: string;
  source: string;
  query: unknown;
  dependsOn?: string[];
  batch?: { param: number; size: number };
}

interface PlanShape {
  fragments: FragmentShape[];
  merge?: unknown;
  errorPolicy?: string;
}

/** The distinct non-null values of a column, in first-seen order. */
function distinctValues(rows: readonly Row[], column: string): unknown[] {
  const out: unknown[] = [];
  for (const row of rows) {
    const v = own(row, column);
    if (v === null || v === undefined || out.some((o) => same(o, v))) continue;
    out.push(v);
  }
  return out;
}

/** A bound value as SQLite receives it: a list as one JSON text, booleans as 0/1. */
export function sqliteValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  // As the SQLite source documents: a date as its ISO text (not a JSON string), a typed
  // array as a blob, a boxed primitive as its primitive, any other object as JSON text.
  if (value instanceof Date) return value.toISOString();
  if (ArrayBuffer.isView(value) && !Buffer.isBuffer(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof Number || value instanceof String || value instanceof Boolean) return sqliteValue(value.valueOf());
  if (typeof value === 'object' && value !== null && !Buffer.isBuffer(value)) return JSON.stringify(value);
  return value;
}

function memoryCall(query: unknown, world: RefWorld): Row[] {
  const q = query as { table: string; columns?: string[]; where?: unknown };
  if (!Object.prototype.hasOwnProperty.call(world.tables, q.table)) throw new RefFailure(`no table ${q.table}`);
  const table = world.tables[q.table]!;
  const keys = [...new Set(table.flatMap((row) => Object.keys(row)))];
  // A where over a column no row of a non-empty table has fails, as SQL's would.
  if (q.where !== undefined && table.length > 0 && readColumns(q.where).some((c) => !keys.includes(c))) throw new RefFailure('memory where reads no such column');
  const test = q.where === undefined ? undefined : refPredicate(q.where);
  const out: Row[] = [];
  for (const row of table) {
    if (test && test(row) !== true) continue;
    if (!q.columns) {
      out.push(row);
      continue;
    }
    const projected: Row = {};
    for (const c of q.columns) put(projected, c, own(row, c) ?? null);
    out.push(projected);
  }
  // An empty table's columns are unknown: without `columns`, it declares none.
  return declare(out, q.columns ?? (table.length > 0 ? keys : undefined));
}

function call(f: FragmentShape, query: unknown, world: RefWorld): Row[] {
  const kind = world.sources[f.source];
  if (kind === 'memory') return memoryCall(query, world);
  const params = (query as { params?: unknown }).params;
  const list = Array.isArray(params) ? params : [];
  try {
    if (kind === 'sqlite') return world.sql((query as { sql: string }).sql, list.map(sqliteValue));
    return world.custom!(query);
  } catch (error) {
    throw new RefFailure(`source call failed: ${(error as Error).message}`);
  }
}

/** The index (into the query's refs) of the batched `$from`, -1 without batching, undefined if invalid. */
function batchTarget(f: FragmentShape, refs: { path: (string | number)[]; ref: unknown }[]): number | undefined {
  if (!f.batch) return -1;
  const { param } = f.batch;
  if (Array.isArray((f.query as { params?: unknown } | null)?.params)) {
    const i = refs.findIndex((r) => r.path.length === 2 && r.path[0] === 'params' && r.path[1] === param);
    return i >= 0 && isFromRef(refs[i]!.ref) ? i : undefined;
  }
  return param < refs.length && isFromRef(refs[param]!.ref) ? param : undefined;
}

function runFragment(f: FragmentShape, done: Map<string, { rows: Row[] }>, world: RefWorld): Row[] {
  const refs = refsIn(f.query);
  // A $from naming a column its upstream declared it does not have fails the fragment.
  for (const { ref } of refs) {
    if (!isFromRef(ref)) continue;
    const declared = declaredColumns(done.get(ref.$from)!.rows);
    if (declared !== undefined && !declared.includes(ref.column)) throw new RefFailure(`${ref.$from} has no column ${ref.column}`);
  }
  const values = refs.map(({ ref }) => (isFromRef(ref) ? distinctValues(done.get(ref.$from)!.rows, ref.column) : world.params[(ref as { $param: string }).$param]));
  // An empty bound list is bound as it is: one call (one batch) with the empty list.
  const target = batchTarget(f, refs)!;
  let base = f.query;
  refs.forEach(({ path }, i) => {
    if (i !== target) base = setAt(base, path, values[i]);
  });
  if (target < 0) return call(f, base, world);
  const list = values[target] as unknown[];
  const out: Row[] = [];
  if (list.length === 0) return call(f, setAt(base, refs[target]!.path, []), world);
  for (let i = 0; i < list.length; i += f.batch!.size) {
    const rows = call(f, setAt(base, refs[target]!.path, list.slice(i, i + f.batch!.size)), world);
    // The batches are concatenated; the first one names the columns.
    if (i === 0) declare(out, declaredColumns(rows));
    out.push(...rows);
  }
  return out;
}

/** Graph and parameter rules the engine must enforce before running; a reason, or undefined. */
function invalidReason(plan: PlanShape, world: RefWorld): string | undefined {
  const ids = plan.fragments.map((f) => f.id);
  if (new Set(ids).size !== ids.length) return 'duplicate fragment ids';
  for (const f of plan.fragments) {
    if (!Object.prototype.hasOwnProperty.call(world.sources, f.source)) return `unknown source ${f.source}`;
    const deps = f.dependsOn ?? [];
    if (deps.some((d) => !ids.includes(d))) return `unknown dependency of ${f.id}`;
    const refs = refsIn(f.query);
    if (refs.some(({ ref }) => isFromRef(ref) && !deps.includes(ref.$from))) return `$from without dependsOn in ${f.id}`;
    if (batchTarget(f, refs) === undefined) return `batch.param of ${f.id} names no $from`;
  }
  const all = [...plan.fragments.map((f) => f.query), plan.merge];
  for (const { ref } of refsIn(all)) {
    if (isParamRef(ref) && !Object.prototype.hasOwnProperty.call(world.params, ref.$param)) return `missing param ${ref.$param}`;
  }
  if (refsIn(plan.merge).some(({ ref }) => isFromRef(ref))) return '$from in the merge tree';
  const leaves: string[] = [];
  const walk = (n: unknown): void => {
    if (typeof n === 'string') leaves.push(n);
    else if (typeof n === 'object' && n !== null) for (const key of ['inputs', 'left', 'right', 'parent', 'child', 'input']) if (key in n) [(n as Row)[key]].flat().forEach(walk);
  };
  walk(plan.merge);
  if (leaves.some((l) => !ids.includes(l))) return 'unknown merge leaf';
  return mergeMistake(plan.merge);
}

/** A merge node that is wrong on its face (checked before running): a column named twice, a sum of nothing. */
function mergeMistake(node: unknown): string | undefined {
  if (typeof node !== 'object' || node === null) return undefined;
  const n = node as Row;
  const twice = (names: unknown[]): boolean => new Set(names).size !== names.length;
  if (n.op === 'project' && twice((n.columns as unknown[]).map((c) => (typeof c === 'string' ? c : (c as Row).as)))) return 'project names a column twice';
  if (n.op === 'aggregate') {
    const aggs = n.aggregates as Row[];
    if (aggs.some((a) => a.fn !== 'count' && a.column === undefined)) return 'aggregate without a column';
    if (twice([...((n.groupBy as unknown[] | undefined) ?? []), ...aggs.map((a) => a.as)])) return 'aggregate names a column twice';
  }
  if (n.op === 'nest' && surelyHas(n.parent).includes(n.as as string)) return 'nest as is a column the parent is known to have';
  if (n.op === 'join' && (n.type === 'inner' || n.type === 'left')) {
    const left = surelyHas(n.left);
    const prefix = typeof n.rightAs === 'string' ? n.rightAs : typeof n.right === 'string' ? n.right : 'right';
    if (surelyHas(n.right).some((c) => left.includes(c) && left.includes(`${prefix}.${c}`))) return 'a renamed right column is a column the left is known to have';
  }
  for (const key of ['inputs', 'left', 'right', 'parent', 'child', 'input']) {
    if (!(key in n)) continue;
    for (const child of [n[key]].flat()) {
      const found = mergeMistake(child);
      if (found) return found;
    }
  }
  return undefined;
}

/** Columns a node's output has whatever its leaves hold: named by a project or aggregate below, kept or added above. */
function surelyHas(node: unknown): string[] {
  if (typeof node !== 'object' || node === null) return [];
  const n = node as Row;
  switch (n.op) {
    case 'project':
      return (n.columns as unknown[]).map((c) => (typeof c === 'string' ? c : ((c as Row).as as string)));
    case 'aggregate':
      return [...((n.groupBy as string[] | undefined) ?? []), ...(n.aggregates as Row[]).map((a) => a.as as string)];
    case 'nest':
      return [...surelyHas(n.parent), n.as as string];
    case 'union':
      return (n.inputs as unknown[]).flatMap(surelyHas);
    case 'join': {
      const left = surelyHas(n.left);
      if (n.type === 'semi' || n.type === 'anti') return left;
      // A right column is in the output under its own name: the left's, or its own when the left has none.
      const right = surelyHas(n.right);
      const prefix = typeof n.rightAs === 'string' ? n.rightAs : typeof n.right === 'string' ? n.right : 'right';
      return [...left, ...right, ...right.filter((c) => left.includes(c)).map((c) => `${prefix}.${c}`)];
    }
    default:
      return surelyHas(n.input);
  }
}

/** Levels: 0 without dependencies, else one more than the deepest dependency; undefined on a cycle. */
function levelsOf(plan: PlanShape): Map<string, number> | undefined {
  const level = new Map<string, number>();
  let changed = true;
  while (changed) {
    changed = false;
    for (const f of plan.fragments) {
      const deps = f.dependsOn ?? [];
      if (level.has(f.id) || !deps.every((d) => level.has(d))) continue;
      level.set(f.id, deps.reduce((m, d) => Math.max(m, level.get(d)! + 1), 0));
      changed = true;
    }
  }
  return level.size === plan.fragments.length ? level : undefined;
}

/** What the engine must answer for `plan` over the world's data. */
export function referenceRun(input: unknown, world: RefWorld): Expected {
  const plan = input as PlanShape;
  const invalid = invalidReason(plan, world);
  if (invalid) return { kind: 'invalid', why: invalid };
  const levels = levelsOf(plan);
  if (!levels) return { kind: 'invalid', why: 'dependency cycle' };
  let root = plan.merge;
  if (root === undefined) {
    const last = Math.max(...levels.values());
    const ids = plan.fragments.filter((f) => levels.get(f.id) === last).map((f) => f.id);
    if (ids.length !== 1) return { kind: 'invalid', why: 'no merge and an ambiguous last level' };
    root = ids[0];
  }

  const done = new Map<string, { status: FragmentStatus; rows: Row[] }>();
  const byLevel = [...plan.fragments].sort((a, b) => levels.get(a.id)! - levels.get(b.id)!);
  for (const f of byLevel) {
    const deps = f.dependsOn ?? [];
    if (deps.some((d) => done.get(d)!.status !== 'succeeded')) {
      done.set(f.id, { status: 'skipped', rows: [] });
      continue;
    }
    try {
      done.set(f.id, { status: 'succeeded', rows: runFragment(f, done, world) });
    } catch (error) {
      if (!(error instanceof RefFailure)) throw error;
      done.set(f.id, { status: 'failed', rows: [] });
    }
  }
  const failed = [...done].filter(([, d]) => d.status === 'failed').map(([id]) => id);
  if (failed.length > 0 && (plan.errorPolicy ?? 'fail-fast') === 'fail-fast') return { kind: 'failed', cause: 'fragment', failed };

  const notes: MergeNotes = { sortInputs: new Map() };
  let merged;
  try {
    merged = refMerge(root as string, new Map([...done].map(([id, d]) => [id, d.rows])), world.params, notes);
  } catch (error) {
    if (!(error instanceof RefFailure)) throw error;
    return { kind: 'failed', cause: 'merge', failed };
  }
  const fragments: Record<string, { status: FragmentStatus; rowCount: number }> = {};
  for (const [id, d] of done) put(fragments, id, { status: d.status, rowCount: d.rows.length });
  const complete = [...done.values()].every((d) => d.status === 'succeeded');
  return {
    kind: 'rows',
    status: complete ? 'ok' : 'partial',
    rows: merged.rows,
    columns: merged.columns,
    ordered: plan.merge !== undefined && definesOrder(root as string, notes),
    fragments,
  };
}
