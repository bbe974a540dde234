import type { PlanModel } from './model.js';
import { mermaidLabel } from './escape.js';
import { planGraph, type GraphAnnotations, type GraphNode, type PlanGraph } from './graph.js';

type Model = PlanModel;

/**
 * EXPLAIN as a Mermaid `flowchart TD`: one subgraph per level holding its fragments, a
 * solid edge labelled with the bound columns for each bind, a dotted edge for a dependency
 * without one, then the merge tree's operators (hexagons) down to the result. Every label
 * is quoted and entity-escaped, so no SQL can break the diagram.
 */
export function explainMermaid(model: Model, annotations?: GraphAnnotations): string {
  return graphToMermaid(planGraph(model, annotations));
}

export function graphToMermaid(graph: PlanGraph): string {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const out = ['flowchart TD'];
  for (const level of graph.levels) {
    out.push(`  subgraph ${level.id}[${mermaidLabel([level.label])}]`);
    for (const id of level.nodes) out.push(`    ${node(byId.get(id)!)}`);
    out.push('  end');
  }
  for (const n of graph.nodes) if (n.kind !== 'fragment') out.push(`  ${node(n)}`);
  const highlighted: number[] = [];
  graph.edges.forEach((e, i) => {
    const arrow = e.kind === 'order' ? '-.->' : '-->';
    out.push(`  ${e.from} ${arrow}${e.label ? `|${mermaidLabel([e.label])}|` : ''} ${e.to}`);
    if (e.highlight) highlighted.push(i);
  });
  const hot = graph.nodes.filter((n) => n.highlight).map((n) => n.id);
  if (hot.length > 0) {
    out.push('  classDef critical stroke:#d62728,stroke-width:3px');
    out.push(`  class ${hot.join(',')} critical`);
  }
  if (highlighted.length > 0) out.push(`  linkStyle ${highlighted.join(',')} stroke:#d62728,stroke-width:3px`);
  return out.join('\n');
}

function node(n: GraphNode): string {
  const label = mermaidLabel(n.lines);
  switch (n.kind) {
    case 'fragment':
      return `${n.id}[${label}]`;
    case 'merge':
      return `${n.id}{{${label}}}`;
    case 'result':
      return `${n.id}([${label}])`;
    default:
      return n.kind satisfies never;
  }
}
