import type { z } from 'zod';
import { TributaryError, type ErrorIssue } from '../errors.js';
import type { SourceExecutor } from '../sources/source.js';
import { levels } from './levels.js';
import { defaultPlanLimits, type PlanLimits } from './limits.js';
import { findRefs, formatPath, isFromRef } from './refs.js';
import { planSchema, type Fragment, type MergeNode, type Plan } from './schema.js';
import { checkRawShape, mergeLeaves } from './graph.js';
import { checkFragmentGraph, graphIssuesOfUnparsed } from './fragment-graph.js';
import { ownCopy } from './own-copy.js';
import { flattenIssues } from '../zod-issues.js';
import { mergeNodeIssues } from './merge-checks.js';
import { settingCapIssues, type ExecutorSettings } from './setting-caps.js';

/** A plan that passed every check, with defaults filled in and its levels computed. */
export interface ValidatedPlan extends Plan {
  id: string;
  errorPolicy: 'fail-fast' | 'partial';
  schedule: 'levels' | 'eager';
  /** Fragment ids by level. */
  levels: string[][];
  levelOf: ReadonlyMap<string, number>;
  fragmentsById: ReadonlyMap<string, Fragment>;
  /** Fragments that depend on each fragment, directly. */
  dependents: ReadonlyMap<string, readonly string[]>;
  /** The merge tree, or the single last-level fragment when the plan has none. */
  mergeTree: MergeNode;
  /** The plan as it was validated: its own copy of the input, which nothing outside shares. */
  input: unknown;
  /** The input's JSON text when it was validated (what a kept plan object is compared with). */
  json: string;
}

export interface ValidateOptions {
  /** Registered sources; when given, source names and native queries are checked too. */
  sources?: ReadonlyMap<string, SourceExecutor>;
  limits?: PlanLimits;
  /** The executor's `retry` and `hedge`, which the plan's are layered over: the `limits` are checked against the settings in force. */
  executor?: ExecutorSettings;
}

let anonymous = 0;

/**
 * Checks a plan (schema, graph, sources, limits) and returns it validated, or throws a
 * `TributaryError` listing every problem with its path. Nothing runs for an invalid plan.
 */
export function validatePlan(input: unknown, options: ValidateOptions = {}): ValidatedPlan {
  const limits = options.limits ?? defaultPlanLimits;
  const raw = checkRawShape(input, limits);
  if (raw.issues.length > 0) throw invalid(raw.issues);
  // From here on, the plan's own copy: nothing the caller changes later reaches it.
  let own: unknown;
  try {
    own = ownCopy(input);
  } catch (error) {
    // A getter that read fine once and throws now: not JSON either.
    throw invalid([{ path: '(root)', message: `the plan cannot be read as JSON: ${(error as Error).message}` }]);
  }

  let parsed: ReturnType<typeof planSchema.safeParse>;
  let unparsedGraph: ErrorIssue[] = [];
  try {
    parsed = planSchema.safeParse(own);
    // The fragments that parsed are checked as a graph too, so every problem is listed at once.
    if (!parsed.success) unparsedGraph = graphIssuesOfUnparsed(own);
  } catch (error) {
    // An object that says how it serializes (toJSON) is kept as it is, unread: a getter of it may throw here.
    throw invalid([{ path: '(root)', message: `the plan cannot be read as JSON: ${(error as Error).message}` }]);
  }
  if (!parsed.success) throw invalid([...zodIssues(parsed.error.issues), ...unparsedGraph]);
  const plan = parsed.data;

  const issues: ErrorIssue[] = [];
  const unknownSources: ErrorIssue[] = [];
  if (plan.fragments.length > limits.maxFragments) {
    issues.push({ path: 'fragments', message: `the plan has ${plan.fragments.length} fragments; the limit is ${limits.maxFragments}` });
  }
  issues.push(...settingCapIssues(plan, limits, options.executor));

  const graph = checkFragmentGraph(plan.fragments);
  const byId = graph.byId;
  issues.push(...graph.issues);

  if (options.sources) {
    plan.fragments.forEach((f, i) => {
      const source = options.sources!.get(f.source);
      if (!source) {
        unknownSources.push({ path: `fragments[${i}].source`, message: `unknown source "${f.source}" (registered: ${[...options.sources!.keys()].join(', ') || 'none'})` });
      } else {
        const q = source.querySchema.safeParse(f.query);
        if (!q.success) issues.push(...zodIssues(q.error.issues, `fragments[${i}].query`));
      }
    });
  }

  if (issues.length === 0 && unknownSources.length > 0) {
    throw new TributaryError('SOURCE_UNKNOWN', summary(unknownSources), { issues: unknownSources });
  }
  issues.push(...unknownSources);
  if (issues.length > 0) throw invalid(issues);

  const byLevel = levels(plan.fragments);
  if (byLevel.length > limits.maxDepth) {
    throw invalid([{ path: 'fragments', message: `the plan has ${byLevel.length} levels; the limit is ${limits.maxDepth}` }]);
  }
  const mergeTree = resolveMergeTree(plan.merge, byLevel, byId, limits);

  const levelOf = new Map<string, number>();
  byLevel.forEach((ids, level) => ids.forEach((id) => levelOf.set(id, level)));
  const dependents = new Map<string, string[]>(plan.fragments.map((f) => [f.id, []]));
  for (const f of plan.fragments) for (const dep of new Set(f.dependsOn ?? [])) dependents.get(dep)!.push(f.id);

  return {
    ...plan,
    id: plan.id ?? `query-${++anonymous}`,
    errorPolicy: plan.errorPolicy ?? 'fail-fast',
    schedule: plan.schedule ?? 'levels',
    levels: byLevel,
    levelOf,
    fragmentsById: byId,
    dependents,
    mergeTree,
    input: own,
    json: raw.json!,
  };
}

function resolveMergeTree(merge: MergeNode | undefined, byLevel: string[][], byId: Map<string, Fragment>, limits: PlanLimits): MergeNode {
  if (merge === undefined) {
    const last = byLevel[byLevel.length - 1] ?? [];
    if (last.length !== 1) {
      throw invalid([{ path: 'merge', message: `no merge is given and the last level has ${last.length} fragments (${last.join(', ')}); say how to combine them` }]);
    }
    return last[0]!;
  }
  const { leaves, nodes } = mergeLeaves(merge);
  const issues: ErrorIssue[] = [];
  if (nodes > limits.maxMergeNodes) issues.push({ path: 'merge', message: `the merge tree has ${nodes} nodes; the limit is ${limits.maxMergeNodes}` });
  for (const { id, path } of leaves) {
    if (!byId.has(id)) issues.push({ path, message: `merge leaf "${id}" is not a fragment id` });
  }
  issues.push(...mergeNodeIssues(merge));
  for (const { ref, path } of findRefs(merge)) {
    if (isFromRef(ref)) issues.push({ path: formatPath('merge', path), message: 'a merge filter cannot bind an upstream column; use a join' });
  }
  if (issues.length > 0) throw invalid(issues);
  return merge;
}

function zodIssues(zodIssueList: z.core.$ZodIssue[], prefix = ''): ErrorIssue[] {
  return flattenIssues(zodIssueList).map((issue) => ({ path: formatPath(prefix, issue.path) || '(root)', message: issue.message }));
}

function summary(issues: ErrorIssue[]): string {
  const head = issues.slice(0, 3).map((i) => `${i.path}: ${i.message}`).join('; ');
  return issues.length > 3 ? `${head}; and ${issues.length - 3} more` : head;
}

function invalid(issues: ErrorIssue[]): TributaryError {
  return new TributaryError('PLAN_INVALID', `invalid plan: ${summary(issues)}`, { issues });
}
