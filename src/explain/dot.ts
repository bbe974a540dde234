import type { PlanModel } from './model.js';
import { dotLabel, dotString } from './escape.js';
import { planGraph, type GraphAnnotations, type GraphEdge, type GraphNode, type PlanGraph } from './graph.js';

type Model = PlanModel;

/**
 * EXPLAIN as Graphviz DOT (`dot -Tsvg`): a cluster per level, boxes for fragments, hexagons
 * for merge operators; bind edges solid and labelled with the columns, ordering-only
 * dependencies dashed. Every id and label is a quoted, escaped DOT string.
 */
export function explainDot(model: Model, annotations?: GraphAnnotations): string {
  return graphToDot(planGraph(model, annotations));
}

export function graphToDot(graph: PlanGraph): string {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const out = [
    `digraph ${dotString(graph.title)} {`,
    '  rankdir=TB;',
    '  node [shape=box, fontname="Helvetica"];',
    '  edge [fontname="Helvetica", fontsize=10];',
  ];
  for (const level of graph.levels) {
    out.push(`  subgraph ${dotString(`cluster_${level.id}`)} {`);
    out.push(`    label=${dotString(level.label)};`);
    out.push('    style=dashed;');
    for (const id of level.nodes) out.push(`    ${node(byId.get(id)!)}`);
    out.push('  }');
  }
  for (const n of graph.nodes) if (n.kind !== 'fragment') out.push(`  ${node(n)}`);
  for (const e of graph.edges) out.push(`  ${edge(e)}`);
  out.push('}');
  return out.join('\n');
}

function node(n: GraphNode): string {
  const attrs = [`label=${dotLabel(n.lines)}`];
  if (n.kind === 'merge') attrs.push('shape=hexagon');
  if (n.kind === 'result') attrs.push('shape=oval');
  if (n.highlight) attrs.push('color="#d62728"', 'penwidth=3');
  return `${dotString(n.id)} [${attrs.join(', ')}];`;
}

function edge(e: GraphEdge): string {
  const attrs: string[] = [];
  if (e.label) attrs.push(`label=${dotString(e.label)}`);
  if (e.kind === 'order') attrs.push('style=dashed');
  if (e.highlight) attrs.push('color="#d62728"', 'penwidth=3');
  return `${dotString(e.from)} -> ${dotString(e.to)}${attrs.length > 0 ? ` [${attrs.join(', ')}]` : ''};`;
}
