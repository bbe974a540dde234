import { joinRightName, type MergeNode } from '../plan/schema.js';
import type { Row } from '../data/row.js';
import { aggregate } from './aggregate.js';
import { mergeFailed } from '../data/fail.js';
import { filter } from './filter.js';
import { join } from './join.js';
import { limit } from './limit.js';
import { nest } from './nest.js';
import type { ParamResolver } from '../data/predicate.js';
import { project } from './project.js';
import { leafRelation, type Relation, type RelationResult } from './relation.js';
import { sort } from './sort.js';
import { union } from './union.js';

export interface EvaluateOptions {
  /** Values for `{ $param }` references in filter predicates (`run(plan, { params })`). */
  params?: Record<string, unknown>;
}

interface Context {
  inputs: ReadonlyMap<string, readonly Row[]>;
  params: Record<string, unknown>;
}

/** `params` as a filter reads them: own keys only. Made per filter node, not per merge: most trees have none. */
function paramResolver(params: Record<string, unknown>): ParamResolver {
  return (name) => (Object.hasOwn(params, name) ? params[name] : undefined);
}

function evaluate(node: MergeNode, ctx: Context, path: string): Relation {
  if (typeof node !== 'string') return evaluateOperator(node, ctx, path);
  const rows = ctx.inputs.get(node);
  if (rows === undefined) throw mergeFailed(path, `no result for fragment "${node}"`);
  return leafRelation(rows);
}

/** An operator node: its result is always fresh arrays (`RelationResult`). */
function evaluateOperator(node: Exclude<MergeNode, string>, ctx: Context, path: string): RelationResult {
  switch (node.op) {
    case 'union':
      return union(
        node.inputs.map((input, i) => evaluate(input, ctx, `${path}.inputs[${i}]`)),
        node.distinct ?? false,
      );
    case 'join':
      return join(
        evaluate(node.left, ctx, `${path}.left`),
        evaluate(node.right, ctx, `${path}.right`),
        { type: node.type, on: node.on, rightName: joinRightName(node) },
        path,
      );
    case 'nest':
      return nest(evaluate(node.parent, ctx, `${path}.parent`), evaluate(node.child, ctx, `${path}.child`), node, path);
    case 'project':
      return project(evaluate(node.input, ctx, `${path}.input`), node.columns, path);
    case 'filter':
      return filter(evaluate(node.input, ctx, `${path}.input`), node.where, paramResolver(ctx.params), path);
    case 'aggregate':
      return aggregate(evaluate(node.input, ctx, `${path}.input`), node.groupBy, node.aggregates, path);
    case 'sort':
      return sort(evaluate(node.input, ctx, `${path}.input`), node.by, path);
    case 'limit':
      return limit(evaluate(node.input, ctx, `${path}.input`), node.n, node.offset);
    default:
      node satisfies never;
      throw mergeFailed(path, `unknown merge operator ${JSON.stringify((node as { op?: unknown }).op)}`);
  }
}

/**
 * Evaluates a merge tree over the fragment results. A leaf is a fragment id looked up in
 * `inputs`; operators are applied bottom-up. Inputs are never mutated (they are cached and
 * shared): every returned array is new, and rows are either new objects or shared inputs.
 * Problems (a missing fragment result, a missing `$param`, a `$from` in a filter, an
 * unknown projected column) throw `TributaryError('MERGE_FAILED')` with an issue path
 * rooted at `merge`, e.g. `merge.input.inputs[1]`.
 * @example evaluateMerge({ op: 'limit', n: 10, input: 'orders' }, new Map([['orders', rows]]))
 */
export function evaluateMerge(
  node: MergeNode,
  inputs: ReadonlyMap<string, Row[]>,
  options: EvaluateOptions = {},
): RelationResult {
  const ctx: Context = { inputs, params: options.params ?? {} };
  if (typeof node !== 'string') return evaluateOperator(node, ctx, 'merge');
  // A bare leaf would hand back the cached input array itself; the caller gets its own.
  const result = evaluate(node, ctx, 'merge');
  return { rows: [...result.rows], columns: [...result.columns] };
}
