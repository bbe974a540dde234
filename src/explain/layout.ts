import { Graph, layout, type GraphLabel, type Point } from '@dagrejs/dagre';
import type { GraphEdge, GraphNode, PlanGraph } from './graph.js';

/**
 * Where every box, edge and band of a plan's drawing goes. The ranks are ours: a fragment
 * sits on its plan level, each merge operator one rank below the lowest of its inputs (and
 * below every level), the result below the root. dagre (with its ranker turned off) then
 * orders each rank to keep crossings down, places the boxes and routes the edges, with room
 * for their labels.
 */
export interface PlanLayout {
  width: number;
  height: number;
  nodes: LaidNode[];
  edges: LaidEdge[];
  /** Horizontal bands behind the boxes: one per plan level, then the merge tree. */
  bands: Band[];
}

export interface LaidNode extends GraphNode {
  /** Top-left corner and size. */
  x: number;
  y: number;
  width: number;
  height: number;
  /** The label lines as drawn (long ones cut). */
  shown: string[];
}

export interface LaidEdge extends GraphEdge {
  points: Point[];
  /** The label's centre, when the edge has one. */
  labelAt?: Point;
}

export interface Band {
  label: string;
  kind: 'level' | 'merge';
  y: number;
  height: number;
}

/** Text metrics of the drawing: a monospace font, so widths follow from lengths. */
export const TEXT = { size: 12, charWidth: 7.3, lineHeight: 16, maxChars: 46 } as const;
const PAD = { x: 10, y: 8, stripe: 6 };
/** Room at the left for the band labels. */
export const GUTTER = 84;

export function layoutPlan(graph: PlanGraph): PlanLayout {
  const g = new Graph<GraphLabel, SizedNode, SizedEdge>({ multigraph: true });
  // Ranks are assigned below: dagre's own ranker would pull a lone fragment down to its merge.
  g.setGraph(Object.assign({ rankdir: 'TB', nodesep: 28, ranksep: 36, edgesep: 12, marginx: 12, marginy: 12 } satisfies GraphLabel, { ranker: 'none' }));
  const ranks = ranksOf(graph);
  for (const node of graph.nodes) {
    const shown = node.lines.map((line) => cut(line, TEXT.maxChars));
    const longest = Math.max(...shown.map((l) => l.length));
    const width = Math.max(90, Math.ceil(longest * TEXT.charWidth + 2 * PAD.x));
    const height = shown.length * TEXT.lineHeight + 2 * PAD.y + (node.kind === 'fragment' ? PAD.stripe : 0);
    g.setNode(node.id, { width, height, rank: ranks.get(node.id)!, shown });
  }
  graph.edges.forEach((edge, i) => {
    const label = edge.label === undefined ? undefined : cut(edge.label, TEXT.maxChars);
    g.setEdge(edge.from, edge.to, {
      ...(label === undefined ? {} : { width: label.length * TEXT.charWidth + 8, height: TEXT.lineHeight + 4, labelpos: 'c' as const }),
      weight: edge.kind === 'merge' ? 1 : 2,
    }, `e${i}`);
  });
  // Past a few dozen boxes the optimal-order search costs seconds and gains little.
  layout(g, { disableOptimalOrderHeuristic: graph.nodes.length > 60 });

  const nodes: LaidNode[] = graph.nodes.map((node) => {
    const n: SizedNode = g.node(node.id);
    return { ...node, x: n.x! - n.width / 2 + GUTTER, y: n.y! - n.height / 2, width: n.width, height: n.height, shown: n.shown };
  });
  const edges: LaidEdge[] = graph.edges.map((edge, i) => {
    const e: SizedEdge = g.edge(edge.from, edge.to, `e${i}`);
    const points = (e.points ?? []).map((p) => ({ x: p.x + GUTTER, y: p.y }));
    return { ...edge, ...(edge.label === undefined ? {} : { label: cut(edge.label, TEXT.maxChars) }), points, ...(edge.label !== undefined && e.x !== undefined && e.y !== undefined ? { labelAt: { x: e.x + GUTTER, y: e.y } } : {}) };
  });
  const size = g.graph();
  const width = (size.width ?? 0) + GUTTER;
  return { width, height: size.height ?? 0, nodes, edges, bands: bandsOf(graph, nodes) };
}

interface SizedNode {
  width: number;
  height: number;
  rank: number;
  shown: string[];
  x?: number;
  y?: number;
}

interface SizedEdge {
  width?: number;
  height?: number;
  labelpos?: 'c';
  weight: number;
  points?: Point[];
  x?: number;
  y?: number;
}

/**
 * Plan levels on even ranks (dagre puts edge labels on the odd ones between); merge
 * operators below every level and below their inputs; the result last.
 */
function ranksOf(graph: PlanGraph): Map<string, number> {
  const ranks = new Map<string, number>();
  graph.levels.forEach((level, i) => level.nodes.forEach((id) => ranks.set(id, 2 * i)));
  const firstMergeRank = 2 * graph.levels.length;
  const inputs = new Map<string, string[]>();
  for (const e of graph.edges) if (e.kind === 'merge') inputs.set(e.to, [...(inputs.get(e.to) ?? []), e.from]);
  const rankOf = (id: string, depth: number): number => {
    const known = ranks.get(id);
    if (known !== undefined) return known;
    // The merge tree is a tree bounded by the plan's nesting limit; `depth` guards a malformed graph.
    const below = depth > graph.nodes.length ? 0 : Math.max(-2, ...(inputs.get(id) ?? []).map((from) => rankOf(from, depth + 1)));
    const rank = Math.max(firstMergeRank, below + 2);
    ranks.set(id, rank);
    return rank;
  };
  for (const node of graph.nodes) rankOf(node.id, 0);
  return ranks;
}

function bandsOf(graph: PlanGraph, nodes: readonly LaidNode[]): Band[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const span = (members: readonly LaidNode[]): { top: number; bottom: number } => ({
    top: Math.min(...members.map((n) => n.y)) - 8,
    bottom: Math.max(...members.map((n) => n.y + n.height)) + 8,
  });
  const bands: Band[] = [];
  for (const level of graph.levels) {
    const members = level.nodes.map((id) => byId.get(id)!).filter(Boolean);
    if (members.length === 0) continue;
    const { top, bottom } = span(members);
    bands.push({ label: level.label, kind: 'level', y: top, height: bottom - top });
  }
  const merge = nodes.filter((n) => n.kind !== 'fragment');
  if (merge.length > 0) {
    const { top, bottom } = span(merge);
    bands.push({ label: 'merge', kind: 'merge', y: top, height: bottom - top });
  }
  return bands;
}

function cut(text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}
