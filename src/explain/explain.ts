import type { Fragment, ValidatedPlan } from '../plan/index.js';
import { findRefs, formatPath, isFromRef, validatePlan } from '../plan/index.js';
import type { PlanLimits } from '../plan/index.js';
import type { ExecutorSettings } from '../plan/setting-caps.js';
import { PreparedPlan } from '../run/prepare.js';
import type { Principal, SourceExecutor } from '../sources/source.js';
import type { Authorize, FragmentAccess } from '../access/index.js';
import { accessOf } from './access.js';
import { explainDot } from './dot.js';
import { explainMermaid } from './mermaid.js';
import { explainMerge } from './merge-tree.js';
import { explainHtml } from './html.js';
import type { BoundInput, DependencyEdge, FragmentExplanation, PlanExplanation, PlanModel, PlanWideSettings } from './model.js';
import { remoteRuleOf, type RemoteOption, type RemoteRule } from './remote-rule.js';
import { querySummary } from './summary.js';
import { explainSvg } from './svg.js';
import { explainText } from './text.js';

export interface ExplainOptions extends ExecutorSettings {
  /** The sources; when given, source names and native queries are checked and kinds shown. */
  sources?: ReadonlyMap<string, SourceExecutor> | Readonly<Record<string, SourceExecutor>>;
  /**
   * The executor's `limits`. With its `retry` and `hedge` too, the setting caps are checked
   * against the settings in force, as `run()` checks them; without, a plan's hedge or retry is
   * checked as if the executor had none of its own.
   */
  limits?: PlanLimits;
  /** Longest query summary, in characters (default 80). */
  summaryLength?: number;
  /** Who would ask: with `authorize`, EXPLAIN shows which fragments the rule would refuse. */
  principal?: Principal;
  /** The executor's access rule; a rule that answers with a promise needs `access` instead. */
  authorize?: Authorize;
  /** Verdicts already worked out (`await checkAccess(authorize, validatePlan(plan), principal)`). */
  access?: readonly FragmentAccess[];
  /**
   * The executor's `remote` option (only its `sources` is read): the fragments of the sources
   * it sends to BullMQ workers — every source without `sources`, else the listed ones — are
   * marked remote, as a source given `remote: true` always is.
   */
  remote?: RemoteOption;
}

/**
 * EXPLAIN: what a plan will do, without running it. Accepts a raw plan (validated here, so
 * an invalid one throws `PLAN_INVALID` with every issue, checked against `sources` when
 * given), a `ValidatedPlan` or `executor.prepare()`'s `PreparedPlan` (used as validated;
 * `sources` then only names the kinds).
 *
 * @example
 * console.log(explain(plan).text());
 * await writeFile('plan.mmd', explain(plan).mermaid());
 * await writeFile('plan.html', explain(plan).html());   // opens offline
 */
export function explain(plan: unknown, options: ExplainOptions = {}): PlanExplanation {
  const sources = options.sources === undefined ? undefined : options.sources instanceof Map ? options.sources : new Map(Object.entries(options.sources));
  const validated =
    plan instanceof PreparedPlan ? plan.plan : isValidatedPlan(plan) ? plan : validatePlan(plan, { ...(sources ? { sources } : {}), ...(options.limits ? { limits: options.limits, executor: { retry: options.retry, hedge: options.hedge } } : {}) });
  const verdicts = accessOf(validated, options);
  const remote = remoteRuleOf(options.remote, 'explain');
  const fragments = validated.fragments.map((f, i) => {
    const explained = explainFragment(f, validated, sources, remote, options.summaryLength ?? 80);
    const v = verdicts?.[i];
    return v === undefined ? explained : { ...explained, access: v.allowed ? { allowed: true } : { allowed: false, reason: v.reason ?? 'refused' } };
  });
  const model: PlanModel = {
    queryId: validated.id,
    errorPolicy: validated.errorPolicy,
    schedule: validated.schedule,
    ...(validated.deadlineMs === undefined ? {} : { deadlineMs: validated.deadlineMs }),
    ...planWideOf(validated),
    levels: validated.levels.map((ids) => [...ids]),
    fragments,
    edges: edgesOf(fragments),
    merge: explainMerge(validated.mergeTree),
    ...(verdicts === undefined ? {} : { access: { principalId: options.principal?.id, refused: verdicts.filter((v) => !v.allowed).length } }),
  };
  return {
    ...model,
    text: () => explainText(model),
    mermaid: () => explainMermaid(model),
    dot: () => explainDot(model),
    svg: () => explainSvg(model),
    html: () => explainHtml(model),
  };
}

/** `{ planWide }` when the plan sets anything for all its fragments or merge steps, else `{}`. */
function planWideOf(plan: ValidatedPlan): { planWide?: PlanWideSettings } {
  const settings: PlanWideSettings = {
    ...(plan.timeoutMs === undefined ? {} : { timeoutMs: plan.timeoutMs }),
    ...(plan.fragmentDeadlineMs === undefined ? {} : { deadlineMs: plan.fragmentDeadlineMs }),
    ...(plan.retry === undefined ? {} : { retry: plan.retry }),
    ...(plan.cache === undefined ? {} : { cache: plan.cache }),
    ...(plan.hedge === undefined ? {} : { hedge: plan.hedge }),
    ...(plan.limits === undefined || Object.keys(plan.limits).length === 0 ? {} : { limits: plan.limits }),
  };
  return Object.keys(settings).length === 0 ? {} : { planWide: settings };
}

/** True for the object `validatePlan` returns (its maps cannot come from JSON). */
export function isValidatedPlan(plan: unknown): plan is ValidatedPlan {
  const p = plan as Partial<ValidatedPlan> | null;
  return typeof p === 'object' && p !== null && p.levelOf instanceof Map && p.fragmentsById instanceof Map && Array.isArray(p.levels) && p.mergeTree !== undefined;
}

function explainFragment(
  f: Fragment,
  plan: ValidatedPlan,
  sources: ReadonlyMap<string, SourceExecutor> | undefined,
  remote: RemoteRule,
  summaryLength: number,
): FragmentExplanation {
  const refs = findRefs(f.query);
  const batchedPath = f.batch ? batchedRefPath(f, refs.map((r) => r.path)) : undefined;
  const inputs: BoundInput[] = refs.map(({ ref, path }) => {
    const at = formatPath('', path) || '(query)';
    if (!isFromRef(ref)) return { kind: 'param', path: at, name: ref.$param };
    const input: BoundInput = { kind: 'column', path: at, fragment: ref.$from, column: ref.column };
    if (f.batch && batchedPath !== undefined && formatPath('', batchedPath) === at) input.batchSize = f.batch.size;
    return input;
  });
  const source = sources?.get(f.source);
  return {
    id: f.id,
    source: f.source,
    ...(source?.kind === undefined ? {} : { sourceKind: source.kind }),
    ...(remote(f.source, source) ? { remote: true as const } : {}),
    level: plan.levelOf.get(f.id) ?? 0,
    dependsOn: [...new Set(f.dependsOn ?? [])],
    query: f.query,
    summary: querySummary(f.query, summaryLength),
    inputs,
    ...(f.batch ? { batch: { ...f.batch } } : {}),
    ...(f.timeoutMs === undefined ? {} : { timeoutMs: f.timeoutMs }),
    ...(f.retry === undefined ? {} : { retry: f.retry }),
    ...(f.cache === undefined ? {} : { cache: f.cache }),
    ...(f.hedge === undefined ? {} : { hedge: f.hedge }),
    ...(f.deadlineMs === undefined ? {} : { deadlineMs: f.deadlineMs }),
    ...(f.optional ? { optional: true } : {}),
  };
}

/** The reference `batch.param` splits: `params[i]` for SQL, else the i-th reference (as validatePlan reads it). */
function batchedRefPath(f: Fragment, refPaths: (string | number)[][]): (string | number)[] | undefined {
  const param = f.batch!.param;
  const q = f.query as { params?: unknown };
  if (Array.isArray(q?.params)) return ['params', param];
  return refPaths[param];
}

function edgesOf(fragments: readonly FragmentExplanation[]): DependencyEdge[] {
  const edges: DependencyEdge[] = [];
  for (const f of fragments) {
    for (const dep of f.dependsOn) {
      const columns = [...new Set(f.inputs.flatMap((i) => (i.kind === 'column' && i.fragment === dep ? [i.column] : [])))];
      edges.push({ from: dep, to: f.id, columns });
    }
  }
  return edges;
}
