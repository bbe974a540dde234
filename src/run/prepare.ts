import { resolveCachePolicy, type CachePolicy } from '../cache/index.js';
import type { ResolvedExecutorOptions } from '../config.js';
import { bindCalls, paramUses, type BoundCall, type ParamUse } from '../execution/bind.js';
import { mergeHedge, type HedgePolicy } from '../execution/hedge.js';
import { mergeRetry, type RetryPolicy } from '../execution/retry.js';
import { chainsBelow } from '../execution/deadline.js';
import { findRefs, type FoundRef, type Fragment, type ValidatedPlan } from '../plan/index.js';
import { DEFAULT_FRAGMENT_MAX_BYTES, finite, smaller } from '../data/limits.js';
import { DEFAULT_RESULT_MAX_BYTES, type ResultLimits } from '../merge/index.js';

/** Everything a run needs to know about one fragment, worked out once per plan. */
export interface PreparedFragment {
  readonly index: number;
  readonly id: string;
  readonly source: string;
  readonly level: number;
  /** Where it sits in the plan, for error issues (`fragments[2]`). */
  readonly path: string;
  readonly fragment: Fragment;
  /** Its distinct dependencies and direct dependents, as fragment indices. */
  readonly dependsOn: readonly number[];
  /** Its distinct dependencies' ids (each result's report gets a copy). */
  readonly dependsOnIds: readonly string[];
  readonly dependents: readonly number[];
  /** The executor's, the plan's and the fragment's settings, merged. */
  readonly retry: RetryPolicy;
  readonly timeoutMs: number;
  /** Its own deadline (all attempts): the fragment's, else the plan's or executor's `fragmentDeadlineMs`. */
  readonly deadlineMs: number | undefined;
  /** May be dropped when the query's deadline or its budget runs out. */
  readonly optional: boolean;
  /** Hedged requests (executor, plan, fragment merged); undefined: not hedged. */
  readonly hedge: HedgePolicy | undefined;
  /** Undefined: the fragment bypasses the cache. */
  readonly cache: CachePolicy | undefined;
  /** The source calls of a query without references, bound once for every run. */
  readonly staticCalls: readonly BoundCall[] | undefined;
  /** Its query's `$from` / `$param` references, found once: each run binds them without walking the query. */
  readonly refs: readonly FoundRef[];
}

/**
 * A plan validated against an executor's sources, with its levels, its dependency indices
 * and each fragment's merged settings computed once: like a prepared statement, every run of
 * it skips that work. Made by `executor.prepare(plan)` (or, for a plan object run twice,
 * remembered by `run()`); it belongs to the executor that made it.
 */
export class PreparedPlan {
  readonly id: string;
  /** The plan as it was validated, a copy nothing outside shares (what a preparation for another executor, or a durable run, starts from). */
  readonly input: unknown;
  readonly plan: ValidatedPlan;
  readonly fragments: readonly PreparedFragment[];
  readonly indexOf: ReadonlyMap<string, number>;
  /** Fragments per level. */
  readonly levelSizes: readonly number[];
  /** The sources the plan uses, in order of first use. */
  readonly sources: readonly string[];
  /** Each fragment's source, as an index into `sources`. */
  readonly sourceOf: readonly number[];
  /** Row and byte bounds per fragment (the plan's, else the executor's; none `Infinity`). */
  readonly rowLimits: { maxRows?: number; maxBytes?: number };
  /**
   * The byte bound of a fragment whose source sets none (`SourceExecutor.limits`): 64 MiB
   * unless the executor's `rowLimits.maxBytes` is set (it then bounds every fragment, or
   * lifts the default when `Infinity`): see `fragmentLimits`.
   */
  readonly defaultMaxBytes: number | undefined;
  /**
   * Bounds on each merge step's output: the plan's `maxResultRows` / `maxResultBytes` with the
   * executor's, the smaller winning; bytes 256 MiB unless the executor set them (none `Infinity`).
   */
  readonly resultLimits: ResultLimits;
  /** The query's deadline unless the run sets one: the plan's `deadlineMs`, else the executor's. */
  readonly deadlineMs: number | undefined;
  #chainBelow: readonly number[] | undefined;
  /** The validated input's JSON text with the values JSON writes as `null` kept apart (see `sameAs`), once asked. */
  #exactJson: string | undefined;
  /** True when some query or the merge tree takes `{ $param }` values from the run. */
  readonly hasRunParams: boolean;
  /** @internal Every `{ $param }` reference, so a run checks its params without walking the plan. */
  readonly paramUses: readonly ParamUse[];
  /** @internal Which executor, and which state of its registry, it was prepared for. */
  readonly owner: object;
  /** @internal */
  readonly generation: number;
  /** @internal Cache keys of reference-free fragments, per version and scope (see RunCacheView; bounded by `memoBound`). */
  readonly keys = new Map<string, string>();
  /** @internal A run's status table starts as copies of these (see StatusTable), made at its first run. */
  tableTemplates: { readonly zeros: readonly number[]; readonly nans: readonly number[] } | undefined;

  /** @internal — use `executor.prepare(plan)`. */
  constructor(plan: ValidatedPlan, options: ResolvedExecutorOptions, owner: object, generation: number) {
    this.id = plan.id;
    this.input = plan.input;
    this.plan = plan;
    this.owner = owner;
    this.generation = generation;
    this.rowLimits = mergeRowLimits(options.rowLimits, plan.limits);
    this.defaultMaxBytes = options.rowLimits.maxBytes === undefined ? DEFAULT_FRAGMENT_MAX_BYTES : undefined;
    const { maxResultRows, maxResultBytes = DEFAULT_RESULT_MAX_BYTES } = options.rowLimits;
    this.resultLimits = {
      maxRows: finite(smaller(plan.limits?.maxResultRows, maxResultRows)),
      maxBytes: finite(smaller(plan.limits?.maxResultBytes, maxResultBytes)),
    };
    const indexOf = new Map<string, number>();
    plan.fragments.forEach((f, i) => indexOf.set(f.id, i));
    this.indexOf = indexOf;
    this.levelSizes = plan.levels.map((ids) => ids.length);
    this.sources = [...new Set(plan.fragments.map((f) => f.source))];
    const sourceIndex = new Map(this.sources.map((s, i) => [s, i]));
    this.sourceOf = plan.fragments.map((f) => sourceIndex.get(f.source)!);
    const executorTtl = options.cache === false ? 0 : options.cache.ttlMs;
    // What most fragments share (no settings of their own) is worked out once for the plan.
    const planRetry = mergeRetry(options.retry, plan.retry);
    const planCache = resolveCachePolicy(executorTtl, plan.cache, undefined);
    const planHedge = mergeHedge(options.hedge, plan.hedge);
    const queryRefs = plan.fragments.map((f) => findRefs(f.query));
    this.paramUses = paramUses(queryRefs, plan.merge);
    this.fragments = plan.fragments.map((f, index) => {
      const refs = queryRefs[index]!;
      const dependsOnIds = [...new Set(f.dependsOn ?? [])];
      const path = `fragments[${index}]`;
      return {
        index,
        id: f.id,
        source: f.source,
        level: plan.levelOf.get(f.id)!,
        path,
        fragment: f,
        dependsOn: dependsOnIds.map((d) => indexOf.get(d)!),
        dependsOnIds,
        dependents: (plan.dependents.get(f.id) ?? []).map((d) => indexOf.get(d)!),
        retry: f.retry ? mergeRetry(options.retry, plan.retry, f.retry) : planRetry,
        timeoutMs: f.timeoutMs ?? plan.timeoutMs ?? options.timeoutMs,
        deadlineMs: f.deadlineMs ?? plan.fragmentDeadlineMs ?? options.fragmentDeadlineMs,
        optional: f.optional === true,
        hedge: f.hedge === undefined ? planHedge : mergeHedge(options.hedge, plan.hedge, f.hedge),
        cache: f.cache === undefined ? planCache : resolveCachePolicy(executorTtl, plan.cache, f.cache),
        staticCalls: refs.length === 0 ? bindCalls(f, { rowsOf: () => [], params: {} }, path, refs) : undefined,
        refs,
      };
    });
    this.hasRunParams = this.paramUses.length > 0;
    this.deadlineMs = plan.deadlineMs ?? options.deadlineMs;
  }

  /**
   * True when `plan` (the object this was prepared from, perhaps changed since) still says
   * what was validated: its JSON text is the same. JSON writes NaN, ±Infinity and an
   * `undefined` array element as `null`, so when the text holds a `null` the values are
   * compared too (a param set in place from `null` to `Infinity` must not run as `null`).
   * False when the plan has no JSON text any more (a getter throws, a cycle): validation then says why.
   */
  sameAs(plan: unknown): boolean {
    const json = jsonOf(plan, undefined);
    if (json === undefined || json !== this.plan.json) return false;
    if (!json.includes('null')) return true;
    return jsonOf(plan, exactValues) === (this.#exactJson ??= jsonOf(this.input, exactValues));
  }

  /** Per fragment, the longest chain of dependents below it, in fragments (0: none depend on it); worked out when a deadline first needs it. */
  get chainBelow(): readonly number[] {
    return (this.#chainBelow ??= chainsBelow(this.fragments));
  }
}

/**
 * The plan's `limits` with the executor's `rowLimits`, bound by bound, the smaller winning:
 * a plan may tighten the executor's bounds, never loosen them (a plan from a less-trusted
 * caller saying `maxRows: 1e9` must not lift the bound its executor was given), and a plan
 * that sets only `maxRows` keeps the executor's `maxBytes`.
 */
function mergeRowLimits(executor: { maxRows?: number; maxBytes?: number }, plan: { maxRows?: number; maxBytes?: number } | undefined): { maxRows?: number; maxBytes?: number } {
  const maxRows = finite(smaller(plan?.maxRows, executor.maxRows));
  const maxBytes = finite(smaller(plan?.maxBytes, executor.maxBytes));
  return { ...(maxRows === undefined ? {} : { maxRows }), ...(maxBytes === undefined ? {} : { maxBytes }) };
}

/** A value's JSON text, or undefined when it has none (a getter throws, a cycle, a bigint). */
function jsonOf(value: unknown, replacer: ((key: string, value: unknown) => unknown) | undefined): string | undefined {
  try {
    return JSON.stringify(value, replacer);
  } catch {
    return undefined;
  }
}

/** JSON's replacer that keeps apart what JSON writes as `null` (a string starting with NUL is escaped, so no marker collides with one). */
function exactValues(_key: string, value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : `\u0000${value}`;
  if (value === undefined) return '\u0000undefined';
  if (typeof value === 'string' && value.charCodeAt(0) === 0) return `\u0000${value}`;
  return value;
}
