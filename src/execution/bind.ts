import { TributaryError } from '../errors.js';
import { findRefs, formatPath, isFromRef, nonJsonKind, replaceAt, type FoundRef, type Fragment } from '../plan/index.js';
import type { Row } from '../data/row.js';
import { columnsOf } from '../data/columns.js';
import { listChunks } from '../data/list-chunks.js';
import { defaultPlanLimits } from '../plan/limits.js';
import { ownCopy } from '../plan/own-copy.js';
import { valueShapeProblem, type ValueShapeLimits } from '../plan/value-shape.js';
import { jsonSize } from '../plan/json-size.js';

/** A run parameter may be a bigint (bound exactly) wherever a plan's JSON could not hold one. */
const paramKind = (value: unknown): string | undefined => (typeof value === 'bigint' ? undefined : nonJsonKind(value));

/** The plan limits' bounds on a run's params: each one's shape, and their size together (`maxBytes`, as JSON). */
export interface ParamLimits extends ValueShapeLimits {
  maxBytes: number;
}

/** The plan limits' bounds, for a run parameter's shape and the params' total size: those of a plan. */
export function paramLimits(limits: { maxNesting: number; maxPlanBytes: number }): ParamLimits {
  return { maxNesting: limits.maxNesting, maxContainers: limits.maxPlanBytes, maxBytes: limits.maxPlanBytes };
}
const defaultParamLimits = paramLimits(defaultPlanLimits);

/** One source call of a fragment: the native query with references resolved, and its params. */
export interface BoundCall {
  query: unknown;
  params: unknown[];
  /**
   * Every value this call was made with: its params and the values bound into its query
   * (an HTTP path or search param, a memory source's predicate), masked out of the error
   * texts that leave the run (see value-mask.ts).
   */
  values: unknown[];
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
 * batched list into chunks: one `BoundCall` per source call. An empty bound list is bound
 * as it is, in one call (a batched one too): the query decides what it means, as SQL does
 * (`x IN ()` keeps no row, `x NOT IN ()` every row), and a SQL source still names its
 * columns. Values never touch the query text: they replace the reference objects and
 * travel to the connector as parameters. `refs` are the query's references, when the
 * caller found them once for every run (see PreparedFragment).
 */
export function bindCalls(fragment: Fragment, ctx: BindContext, fragmentPath: string, refs: readonly FoundRef[] = findRefs(fragment.query)): BoundCall[] {
  const resolved: { path: (string | number)[]; value: unknown }[] = [];
  for (const { ref, path } of refs) {
    if (isFromRef(ref)) {
      const upstream = ctx.rowsOf(ref.$from);
      assertColumn(upstream, ref, formatPath(`${fragmentPath}.query`, [...path, 'column']));
      resolved.push({ path, value: distinctValues(upstream, ref.column) });
      continue;
    }
    if (!Object.prototype.hasOwnProperty.call(ctx.params, ref.$param)) {
      throw new TributaryError('PLAN_INVALID', `run parameter "${ref.$param}" is not given`, {
        issues: [{ path: formatPath(`${fragmentPath}.query`, [...path, '$param']), message: `pass params: { ${ref.$param}: … } to run()` }],
      });
    }
    resolved.push({ path, value: ctx.params[ref.$param] });
  }

  const batched = fragment.batch ? batchTarget(fragment, refs) : -1;
  const query = replaceAt(fragment.query, batched < 0 ? resolved : resolved.filter((_, i) => i !== batched));
  if (batched < 0) return [toCall(query, resolved.map((r) => r.value))];

  const { path, value } = resolved[batched]!;
  const others = resolved.filter((_, i) => i !== batched).map((r) => r.value);
  const list = value as unknown[];
  const size = fragment.batch!.size;
  // An empty list is one call with the empty chunk, not none (see above).
  if (list.length === 0) return [toCall(replaceAt(query, [{ path, value: [] }]), [...others, []])];
  // Each chunk remembers its list, so a connector types it as the whole list (data/list-chunks.ts).
  return listChunks(list, size).map((chunk) => toCall(replaceAt(query, [{ path, value: chunk }]), [...others, chunk]));
}

/**
 * A `$from` naming a column its upstream fragment's source did not name (SQL field lists,
 * memory tables) is a mistake in the plan: it would bind nothing, and the fragment would
 * quietly return no rows. Upstream rows whose columns were not named (a JSON API leaves
 * out null fields) are not checked.
 */
function assertColumn(upstream: readonly Row[], ref: { $from: string; column: string }, path: string): void {
  const named = columnsOf(upstream);
  if (named === undefined || named.includes(ref.column)) return;
  const message = `fragment "${ref.$from}" has no column "${ref.column}" (its columns: ${named.length === 0 ? 'none' : named.map((c) => JSON.stringify(c)).join(', ')})`;
  throw new TributaryError('PLAN_INVALID', message, { retryable: false, issues: [{ path, message }] });
}

function batchTarget(fragment: Fragment, refs: readonly FoundRef[]): number {
  const param = fragment.batch!.param;
  const q = fragment.query as { params?: unknown[] };
  if (Array.isArray(q?.params)) return refs.findIndex(({ path: p }) => p.length === 2 && p[0] === 'params' && p[1] === param && isFromRef(q.params![param]));
  return param < refs.length ? param : -1;
}

function toCall(query: unknown, bound: unknown[]): BoundCall {
  const params = (query as { params?: unknown })?.params;
  const list = Array.isArray(params) ? params : [];
  return { query, params: list, values: list.length === 0 ? bound : [list, ...bound] };
}

/** A `{ $param }` reference of a plan: the parameter's name and where the reference is. */
export interface ParamUse {
  name: string;
  /** e.g. `fragments[1].query.where.eq[1].$param` */
  path: string;
}

/**
 * Every `{ $param }` reference of a plan, found once per plan: from each fragment query's
 * references (`queryRefs[i]`, already found for binding), then from the merge tree.
 */
export function paramUses(queryRefs: readonly (readonly FoundRef[])[], merge: unknown): ParamUse[] {
  const uses: ParamUse[] = [];
  const collect = (refs: readonly FoundRef[], prefix: string): void => {
    for (const { ref, path } of refs) if (!isFromRef(ref)) uses.push({ name: ref.$param, path: formatPath(prefix, [...path, '$param']) });
  };
  queryRefs.forEach((refs, i) => collect(refs, `fragments[${i}].query`));
  if (merge !== undefined) collect(findRefs(merge), 'merge');
  return uses;
}

/**
 * Checks that every `{ $param }` of a plan (`paramUses`) has a value in the run's params, so
 * a run that could never finish fails before anything runs, and that the value is one a
 * source can bind (a bigint, a Date, a Buffer are; a Set would bind as `'{}'`). Throws
 * `PLAN_INVALID` with the path of each reference that has no value, or of the value.
 * O(references), not a walk of the plan. Returns the run's own params: each value the plan
 * uses copied whole (`ownCopy`: arrays, plain objects, dates, bytes), so a caller that changes
 * an array it passed (reused for the next request) changes neither what `authorize` was asked
 * about nor what a later level binds.
 */
export function checkRunParams(uses: readonly ParamUse[], params: Readonly<Record<string, unknown>>, limits: ParamLimits = defaultParamLimits): Record<string, unknown> {
  let issues: { path: string; message: string }[] | undefined;
  const checked = new Set<string>();
  // The params a plan uses, together, may be as big as a plan: one huge string passes any shape check.
  let room = limits.maxBytes;
  for (const { name, path } of uses) {
    if (Object.prototype.hasOwnProperty.call(params, name)) {
      if (checked.has(name)) continue;
      checked.add(name);
      // Shaped like a plan's JSON: a value nested 100,000 deep or holding itself would
      // overflow the stack (or hang) in a cache key or a driver, after the run started.
      const problem = valueShapeProblem(params[name], limits, paramKind);
      if (problem !== undefined) (issues ??= []).push({ path: formatPath('params', [name, ...problem.path]), message: `run parameter "${name}": ${problem.message}` });
      else if (room >= 0 && (room -= jsonSize(params[name], room)) < 0) {
        const message = `run parameter "${name}": the run's params are larger than ${limits.maxBytes} bytes as JSON (maxPlanBytes)`;
        (issues ??= []).push({ path: formatPath('params', [name]), message });
      }
      continue;
    }
    (issues ??= []).push({ path, message: `run parameter "${name}" is not given; pass params: { ${name}: … } to run()` });
  }
  if (issues) throw new TributaryError('PLAN_INVALID', `invalid run: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
  // Checked first: a copy walks only values of bounded size and nesting, with no cycle.
  const own: Record<string, unknown> = { ...params };
  for (const name of checked) Object.defineProperty(own, name, { value: ownCopy(params[name]), enumerable: true, writable: true, configurable: true });
  return own;
}
