import { joinRightName, type MergeNode } from './schema.js';

/**
 * Columns a merge node's output is sure to have, from the plan alone: a `project` or an
 * `aggregate` names its output columns, and the steps above one keep them (`filter`, `sort`,
 * `limit`, a semi or anti join's left side, a union whichever inputs hold what), add to them
 * (`nest` its `as`) or join them (a join's right column is in the output under its name: the
 * left side's, or its own when the left has none such). A leaf's columns are not known
 * before its fragment runs, so the list may be short of the real one; never longer.
 * `memo` keeps each node's answer for one walk of the tree (a plan may change between walks).
 */
export function knownColumns(node: MergeNode, memo = new Map<MergeNode, ReadonlySet<string>>()): ReadonlySet<string> {
  if (typeof node === 'string') return EMPTY;
  let known = memo.get(node);
  if (known === undefined) {
    known = compute(node, (n) => knownColumns(n, memo));
    memo.set(node, known);
  }
  return known;
}

const EMPTY: ReadonlySet<string> = new Set();

function compute(node: Exclude<MergeNode, string>, knownColumns: (node: MergeNode) => ReadonlySet<string>): ReadonlySet<string> {
  switch (node.op) {
    case 'project':
      return new Set(node.columns.map((c) => (typeof c === 'string' ? c : c.as)));
    case 'aggregate':
      return new Set([...(node.groupBy ?? []), ...node.aggregates.map((a) => a.as)]);
    case 'filter':
    case 'sort':
    case 'limit':
      return knownColumns(node.input);
    case 'nest':
      return new Set([...knownColumns(node.parent), node.as]);
    case 'union':
      return new Set(node.inputs.flatMap((input) => [...knownColumns(input)]));
    case 'join': {
      const left = knownColumns(node.left);
      if (node.type === 'semi' || node.type === 'anti') return left;
      const right = knownColumns(node.right);
      const renamed = [...right].filter((c) => left.has(c)).map((c) => `${joinRightName(node)}.${c}`);
      return new Set([...left, ...right, ...renamed]);
    }
    default:
      node satisfies never;
      return EMPTY;
  }
}
