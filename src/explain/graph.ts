import type { PlanModel } from './model.js';
import { edgeText, sourceText } from './describe.js';
import { mergeNodes } from './merge-tree.js';

/**
 * The plan as a drawing, independent of the notation: fragment nodes grouped by level,
 * dependency edges, the merge tree's operator nodes and the result. Mermaid and DOT
 * serialize this one structure, so both always show the same graph.
 */
export interface PlanGraph {
  title: string;
  levels: { id: string; label: string; nodes: string[] }[];
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export interface GraphNode {
  /** Safe in both notations: `f0_customers`, `m1`, `result`. */
  id: string;
  kind: 'fragment' | 'merge' | 'result';
  /** Label lines, unescaped. */
  lines: string[];
  fragmentId?: string;
  highlight?: boolean;
}

export interface GraphEdge {
  from: string;
  to: string;
  /** `bind`: values flow (labelled with columns); `order`: dependsOn without a bind; `merge`: into an operator. */
  kind: 'bind' | 'order' | 'merge';
  label?: string;
  highlight?: boolean;
}

type Model = PlanModel;

/** Extra label lines and highlighting per fragment (EXPLAIN ANALYZE's timings and critical path). */
export interface GraphAnnotations {
  lines?: ReadonlyMap<string, string[]>;
  highlighted?: ReadonlySet<string>;
}

export function planGraph(model: Model, annotations: GraphAnnotations = {}): PlanGraph {
  const nodeId = new Map(model.fragments.map((f, i) => [f.id, `f${i}_${f.id.replace(/[^A-Za-z0-9_]/g, '_')}`]));
  const byId = new Map(model.fragments.map((f) => [f.id, f]));
  const hl = annotations.highlighted ?? new Set<string>();
  const nodes: GraphNode[] = model.fragments.map((f) => ({
    id: nodeId.get(f.id)!,
    kind: 'fragment',
    lines: [f.id, sourceText(f), f.summary, ...(annotations.lines?.get(f.id) ?? [])],
    fragmentId: f.id,
    ...(hl.has(f.id) ? { highlight: true } : {}),
  }));
  const edges: GraphEdge[] = model.edges.map((e) => {
    const label = edgeText(e.columns, byId.get(e.to), e.from);
    return {
      from: nodeId.get(e.from)!,
      to: nodeId.get(e.to)!,
      kind: e.columns.length > 0 ? 'bind' : 'order',
      ...(label ? { label } : {}),
      ...(hl.has(e.from) && hl.has(e.to) ? { highlight: true } : {}),
    };
  });

  // A leaf of the merge tree is its fragment's node; an operator is a node of its own.
  const target = (n: { op: string; id: string; fragmentId?: string }): string => (n.op === 'fragment' ? nodeId.get(n.fragmentId!)! : n.id);
  for (const node of mergeNodes(model.merge)) {
    if (node.op === 'fragment') continue;
    nodes.push({ id: node.id, kind: 'merge', lines: [node.label] });
    for (const { role, node: input } of node.inputs) {
      edges.push({ from: target(input), to: node.id, kind: 'merge', ...(role === 'input' ? {} : { label: role }) });
    }
  }
  nodes.push({ id: 'result', kind: 'result', lines: ['result'] });
  edges.push({ from: target(model.merge), to: 'result', kind: 'merge' });

  return {
    title: model.queryId,
    levels: model.levels.map((ids, level) => ({ id: `level_${level}`, label: `level ${level}`, nodes: ids.map((id) => nodeId.get(id)!) })),
    nodes,
    edges,
  };
}
