import type { MergeNode } from '../plan/schema.js';

/** Every fragment id under `node`, once each. */
export function leavesOf(node: MergeNode): string[] {
  const out = new Set<string>();
  collectAll(node, out);
  return [...out];
}

function collectAll(node: MergeNode, out: Set<string>): void {
  if (typeof node === 'string') {
    out.add(node);
    return;
  }
  for (const child of children(node)) collectAll(child, out);
}

/** The inputs of an operator node. */
export function children(node: Exclude<MergeNode, string>): MergeNode[] {
  switch (node.op) {
    case 'union':
      return node.inputs;
    case 'join':
      return [node.left, node.right];
    case 'nest':
      return [node.parent, node.child];
    default:
      return [node.input];
  }
}
