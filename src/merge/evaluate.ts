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
import { resultBound, type ResultBound, type ResultLimits } from './result-bound.js';

export interface EvaluateOptions {
  /** Values for `{ $param }` references in filter predicates (`run(plan, { params })`). */
  params?: Record<string, unknown>;
  /**
   * Bounds on each merge step's output (see result-bound.ts): default 256 MiB of estimated
   * bytes (`DEFAULT_RESULT_MAX_BYTES`) and no row bound; `Infinity` lifts one.
   */
  limits?: ResultLimits;
  /** The path of `node` in its plan, for errors (default `merge`): a subtree evaluated on its own. */
  path?: string;
}

interface Context {
  inputs: ReadonlyMap<string, readonly Row[]>;
  params: Record<string, unknown>;
  bound: ResultBound;
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
    // The steps that can make more rows than an input holds count them as they make them.
    case 'union':
      return union(
        node.inputs.map((input, i) => evaluate(input, ctx, `${path}.inputs[${i}]`)),
        node.distinct ?? false,
        ctx.bound.step(path),
      );
    case 'join':
      return join(
        evaluate(node.left, ctx, `${path}.left`),
        evaluate(node.right, ctx, `${path}.right`),
        { type: node.type, on: node.on, rightName: joinRightName(node) },
        path,
        ctx.bound.step(path),
      );
    case 'nest':
      return nest(evaluate(node.parent, ctx, `${path}.parent`), evaluate(node.child, ctx, `${path}.child`), node, path, ctx.bound.step(path));
    case 'project':
      return project(evaluate(node.input, ctx, `${path}.input`), node.columns, path, ctx.bound.step(path));
    case 'filter':
      return filter(evaluate(node.input, ctx, `${path}.input`), node.where, paramResolver(ctx.params), path, ctx.bound.step(path));
    // The others make at most a row per input row: counted once made.
    case 'aggregate':
      return counted(aggregate(evaluate(node.input, ctx, `${path}.input`), node.groupBy, node.aggregates, path), ctx, path);
    case 'sort':
      return counted(sort(evaluate(node.input, ctx, `${path}.input`), node.by, path), ctx, path);
    case 'limit':
      return counted(limit(evaluate(node.input, ctx, `${path}.input`), node.n, node.offset), ctx, path);
    default:
      node satisfies never;
      throw mergeFailed(path, `unknown merge operator ${JSON.stringify((node as { op?: unknown }).op)}`);
  }
}

function counted(result: RelationResult, ctx: Context, path: string): RelationResult {
  if (ctx.bound.bounded) ctx.bound.step(path).end(result.rows);
  return result;
}

/**
 * Evaluates a merge tree over the fragment results. A leaf is a fragment id looked up in
 * `inputs`; operators are applied bottom-up. Inputs are never mutated (they are cached and
 * shared): every returned array is new, and rows are either new objects or shared inputs.
 * Problems (a missing fragment result, a missing `$param`, a `$from` in a filter, an
 * unknown projected column) throw `TributaryError('MERGE_FAILED')` with an issue path
 * rooted at `merge`, e.g. `merge.input.inputs[1]`. A step whose output passes `limits`
 * throws `LIMIT_EXCEEDED` at its path, as soon as it has made the row that passes them.
 * @example evaluateMerge({ op: 'limit', n: 10, input: 'orders' }, new Map([['orders', rows]]))
 */
export function evaluateMerge(
  node: MergeNode,
  inputs: ReadonlyMap<string, Row[]>,
  options: EvaluateOptions = {},
): RelationResult {
  const ctx: Context = { inputs, params: options.params ?? {}, bound: resultBound(options.limits) };
  const path = options.path ?? 'merge';
  if (typeof node !== 'string') return evaluateOperator(node, ctx, path);
  // A bare leaf would hand back the cached input array itself; the caller gets its own.
  const result = evaluate(node, ctx, path);
  return { rows: [...result.rows], columns: [...result.columns] };
}
