import { TributaryError } from '../errors.js';
import { findRefs, formatPath, isFromRef, replaceAt, type Fragment } from '../plan/index.js';
import type { Row } from '../data/row.js';

/** One source call of a fragment: the native query with references resolved, and its params. */
export interface BoundCall {
  query: unknown;
  params: unknown[];
}

export interface BindContext {
  /** The rows of an upstream fragment that has succeeded. */
  rowsOf(fragmentId: string): readonly Row[];
  /** Run parameters (`run(plan, { params })`). */
  params: Readonly<Record<string, unknown>>;
}

/**
 * The distinct non-null values of one column, in first-seen order. Values are compared
 * as the engine joins them: 1 and 1n are the same key.
 */
export function distinctValues(rows: readonly Row[], column: string): unknown[] {
  const seen = new Set<unknown>();
  const out: unknown[] = [];
  for (const row of rows) {
    // Own properties only: `constructor` must not bind Object.prototype's.
    const value = Object.hasOwn(row, column) ? row[column] : undefined;
    if (value === null || value === undefined) continue;
    const key = typeof value === 'bigint' && Number.isSafeInteger(Number(value)) ? Number(value) : value;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(value);
  }
  return out;
}

/**
 * Resolves a fragment's `$from` and `$param` references into bound values and splits the
 * batched list into chunks: one `BoundCall` per source call. An empty bound list means no
 * call at all (the fragment yields no rows). Values never touch the query text: they
 * replace the reference objects and travel to the connector as parameters.
 */
export function bindCalls(fragment: Fragment, ctx: BindContext, fragmentPath: string): BoundCall[] {
  const refs = findRefs(fragment.query);
  const resolved = refs.map(({ ref, path }) => {
    if (isFromRef(ref)) return { path, value: distinctValues(ctx.rowsOf(ref.$from), ref.column) as unknown };
    if (!Object.prototype.hasOwnProperty.call(ctx.params, ref.$param)) {
      throw new TributaryError('PLAN_INVALID', `run parameter "${ref.$param}" is not given`, {
        issues: [{ path: formatPath(`${fragmentPath}.query`, [...path, '$param']), message: `pass params: { ${ref.$param}: … } to run()` }],
      });
    }
    return { path, value: ctx.params[ref.$param] };
  });

  for (const r of resolved) {
    const ref = refs.find((x) => x.path === r.path)!.ref;
    if (isFromRef(ref) && Array.isArray(r.value) && r.value.length === 0) return [];
  }

  const batched = fragment.batch ? batchTarget(fragment, refs.map((r) => r.path)) : -1;
  const query = replaceAt(fragment.query, resolved.filter((_, i) => i !== batched));
  if (batched < 0) return [toCall(query)];

  const { path, value } = resolved[batched]!;
  const list = value as unknown[];
  const size = fragment.batch!.size;
  const calls: BoundCall[] = [];
  for (let i = 0; i < list.length; i += size) calls.push(toCall(replaceAt(query, [{ path, value: list.slice(i, i + size) }])));
  return calls;
}

function batchTarget(fragment: Fragment, paths: (string | number)[][]): number {
  const param = fragment.batch!.param;
  const q = fragment.query as { params?: unknown[] };
  if (Array.isArray(q?.params)) return paths.findIndex((p) => p.length === 2 && p[0] === 'params' && p[1] === param && isFromRef(q.params![param]));
  return param < paths.length ? param : -1;
}

function toCall(query: unknown): BoundCall {
  const params = (query as { params?: unknown })?.params;
  return { query, params: Array.isArray(params) ? params : [] };
}

/**
 * Checks that every `{ $param }` of a plan (fragment queries and the merge tree) has a value
 * in the run's params, so a run that could never finish fails before anything runs.
 * Throws `PLAN_INVALID` with the path of each reference that has no value.
 */
export function checkRunParams(plan: { fragments: readonly Fragment[]; merge?: unknown }, params: Readonly<Record<string, unknown>>): void {
  const issues: { path: string; message: string }[] = [];
  const check = (root: unknown, prefix: string): void => {
    for (const { ref, path } of findRefs(root)) {
      if (isFromRef(ref) || Object.prototype.hasOwnProperty.call(params, ref.$param)) continue;
      issues.push({ path: formatPath(prefix, [...path, '$param']), message: `run parameter "${ref.$param}" is not given; pass params: { ${ref.$param}: … } to run()` });
    }
  };
  plan.fragments.forEach((f, i) => check(f.query, `fragments[${i}].query`));
  if (plan.merge !== undefined) check(plan.merge, 'merge');
  if (issues.length > 0) {
    throw new TributaryError('PLAN_INVALID', `invalid run: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
  }
}
