import type { MergeNode } from '../plan/index.js';
import type { MergeExplanation } from './model.js';
import { predicateText } from './summary.js';

/** Describes a merge tree as labelled nodes. Recursive: the plan's nesting limit bounds the depth. */
export function explainMerge(root: MergeNode): MergeExplanation {
  let next = 0;
  const visit = (node: MergeNode): MergeExplanation => {
    const id = `m${next++}`;
    if (typeof node === 'string') return { id, op: 'fragment', label: node, fragmentId: node, inputs: [] };
    const inputs = (pairs: [string, MergeNode][]): MergeExplanation['inputs'] => pairs.map(([role, n]) => ({ role, node: visit(n) }));
    switch (node.op) {
      case 'union':
        return { id, op: node.op, label: node.distinct ? 'union distinct' : 'union all', inputs: inputs(node.inputs.map((n) => ['input', n])) };
      case 'join':
        return { id, op: node.op, label: `join ${node.type} on ${pairs(node.on)}${node.rightAs === undefined ? '' : ` as ${node.rightAs}`}`, inputs: inputs([['left', node.left], ['right', node.right]]) };
      case 'nest':
        return { id, op: node.op, label: `nest as ${node.as} on ${pairs(node.on)}`, inputs: inputs([['parent', node.parent], ['child', node.child]]) };
      case 'project':
        return {
          id,
          op: node.op,
          label: `project ${node.columns.map((c) => (typeof c === 'string' ? c : `${c.column} as ${c.as}`)).join(', ')}`,
          inputs: inputs([['input', node.input]]),
        };
      case 'filter':
        return { id, op: node.op, label: `filter ${predicateText(node.where)}`, inputs: inputs([['input', node.input]]) };
      case 'aggregate': {
        const aggs = node.aggregates.map((a) => `${a.fn}(${a.column ?? '*'}) as ${a.as}`).join(', ');
        const by = node.groupBy && node.groupBy.length > 0 ? ` by ${node.groupBy.join(', ')}` : '';
        return { id, op: node.op, label: `aggregate ${aggs}${by}`, inputs: inputs([['input', node.input]]) };
      }
      case 'sort': {
        const by = node.by.map((b) => `${b.column}${b.desc ? ' desc' : ''}${b.nulls ? ` nulls ${b.nulls}` : ''}`).join(', ');
        return { id, op: node.op, label: `sort ${by}`, inputs: inputs([['input', node.input]]) };
      }
      case 'limit':
        return { id, op: node.op, label: `limit ${node.n}${node.offset ? ` offset ${node.offset}` : ''}`, inputs: inputs([['input', node.input]]) };
      default:
        return node satisfies never;
    }
  };
  return visit(root);
}

function pairs(on: [string, string][]): string {
  return on.map(([l, r]) => `${l} = ${r}`).join(' and ');
}

/** Every node of the tree, parents before children. */
export function mergeNodes(root: MergeExplanation): MergeExplanation[] {
  const out: MergeExplanation[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    out.push(node);
    for (let i = node.inputs.length - 1; i >= 0; i--) stack.push(node.inputs[i]!.node);
  }
  return out;
}
