import type { ErrorIssue } from '../errors.js';
import { findCycle } from './graph.js';
import { findRefs, formatPath, isFromRef, type FoundRef } from './refs.js';
import { fragmentIdSchema, fragmentSchema, type Fragment } from './schema.js';

/** The fragments' graph: each id once, and what is wrong with their ids and dependencies. */
export interface FragmentGraph {
  /** The fragments that parsed, by id (the first with an id when it repeats). */
  byId: Map<string, Fragment>;
  issues: ErrorIssue[];
}

/**
 * The graph checks of a plan's fragments: duplicate ids, a `dependsOn` naming no fragment,
 * a `$from` to a fragment not in `dependsOn`, a `batch.param` that binds nothing, a
 * dependency cycle. `fragments[i]` is undefined for a fragment that did not parse (its
 * schema issues are reported apart): its `id`, when the schema takes it, still counts as a
 * fragment's id (`idOf`), but nothing else of it is checked, and a cycle through it is not seen.
 */
export function checkFragmentGraph(fragments: readonly (Fragment | undefined)[], idOf: (i: number) => string | undefined = () => undefined): FragmentGraph {
  const issues: ErrorIssue[] = [];
  const byId = new Map<string, Fragment>();
  const ids = new Set<string>();
  fragments.forEach((f, i) => {
    const id = f?.id ?? idOf(i);
    if (id === undefined) return;
    if (ids.has(id)) issues.push({ path: `fragments[${i}].id`, message: `duplicate fragment id "${id}"` });
    ids.add(id);
    if (f && !byId.has(id)) byId.set(id, f);
  });

  const parsed: Fragment[] = [];
  fragments.forEach((f, i) => {
    if (!f) return;
    parsed.push(f);
    const at = `fragments[${i}]`;
    const deps = f.dependsOn ?? [];
    deps.forEach((dep, j) => {
      if (!ids.has(dep)) issues.push({ path: `${at}.dependsOn[${j}]`, message: `"${f.id}" depends on unknown fragment "${dep}"` });
    });
    const refs = findRefs(f.query);
    for (const { ref, path } of refs) {
      if (isFromRef(ref) && !deps.includes(ref.$from)) {
        issues.push({
          path: formatPath(`${at}.query`, [...path, '$from']),
          message: `"${f.id}" binds "${ref.$from}.${ref.column}" but does not list "${ref.$from}" in dependsOn`,
        });
      }
    }
    if (f.batch) checkBatch(f, at, refs, issues);
  });

  const cycle = findCycle(parsed, byId);
  if (cycle) {
    const index = fragments.findIndex((f) => f?.id === cycle[0]);
    issues.push({ path: `fragments[${index}].dependsOn`, message: `dependency cycle: ${cycle.join(' → ')}` });
  }
  return { byId, issues };
}

/**
 * The graph issues of a plan that failed its schema, where they can be told: when its
 * `fragments` is an array, each fragment that parses on its own is checked (see
 * `checkFragmentGraph`), so one pass reports a bad `merge.type` and a duplicate id together.
 */
export function graphIssuesOfUnparsed(plan: unknown): ErrorIssue[] {
  const raw = typeof plan === 'object' && plan !== null ? (plan as { fragments?: unknown }).fragments : undefined;
  if (!Array.isArray(raw)) return [];
  const fragments = raw.map((f) => {
    const parsed = fragmentSchema.safeParse(f);
    return parsed.success ? parsed.data : undefined;
  });
  const idOf = (i: number): string | undefined => {
    const f: unknown = raw[i];
    const id = typeof f === 'object' && f !== null ? (f as { id?: unknown }).id : undefined;
    // Only an id the schema takes: one it rejects (too long, control characters) is neither counted nor echoed.
    const parsed = fragmentIdSchema.safeParse(id);
    return parsed.success ? parsed.data : undefined;
  };
  return checkFragmentGraph(fragments, idOf).issues;
}

function checkBatch(f: Fragment, at: string, refs: FoundRef[], issues: ErrorIssue[]): void {
  const param = f.batch!.param;
  const q = f.query as { params?: unknown };
  // Without a params array, batch.param counts every reference, so it may land on a $param.
  const ok = Array.isArray(q?.params)
    ? refs.some(({ path: p }) => p.length === 2 && p[0] === 'params' && p[1] === param && isFromRef(q.params && (q.params as unknown[])[param]))
    : param < refs.length && isFromRef(refs[param]!.ref);
  if (!ok) issues.push({ path: `${at}.batch.param`, message: `batch.param ${param} does not name a bound { $from } parameter of "${f.id}"` });
}
