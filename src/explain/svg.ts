import type { PlanExplanation } from './model.js';
import { planGraph, type GraphAnnotations } from './graph.js';
import { layoutPlan, TEXT, type LaidEdge, type LaidNode, type PlanLayout } from './layout.js';

/** What the SVG renderer reads of an explanation (its renderings are not needed). */
export type ExplainModel = Pick<PlanExplanation, 'queryId' | 'errorPolicy' | 'schedule' | 'deadlineMs' | 'planWide' | 'levels' | 'fragments' | 'edges' | 'merge'>;

export interface SvgOptions extends GraphAnnotations {
  /** Prefix of the ids inside the drawing, so several drawings can share one page. */
  idPrefix?: string;
}

/**
 * EXPLAIN as a standalone SVG, drawn by tributary itself: a band per plan level with the
 * fragments in it as boxes (a stripe in their source's colour; id, source, query summary),
 * dependency edges labelled with the bound columns (dashed when they only order), the
 * merge tree's operators below, then the result. Every text is XML-escaped; the drawing
 * references nothing outside itself.
 *
 * Each fragment is a `<g class="fragment" data-fragment="…" data-source="…">`, so a page can
 * restyle it by status (the live view sets `data-status`).
 */
export function explainSvg(model: ExplainModel, options: SvgOptions = {}): string {
  return drawPlan(layoutExplanation(model, options), model, options);
}

/**
 * The plan laid out, once: laying out is the costly part (dagre; a second or more past a
 * couple of hundred fragments), drawing is cheap, so a page that redraws a plan (the live
 * view marking the critical path) keeps the layout.
 */
export function layoutExplanation(model: ExplainModel, options: Pick<GraphAnnotations, 'lines'> = {}): PlanLayout {
  return layoutPlan(planGraph(model, options.lines ? { lines: options.lines } : {}));
}

/** Draws a laid-out plan; `highlighted` fragments and the dependency edges between them in red. */
export function drawPlan(l: PlanLayout, model: ExplainModel, options: SvgOptions = {}): string {
  const sourceOf = new Map(model.fragments.map((f) => [f.id, f.source]));
  const hl = options.highlighted ?? new Set<string>();
  const fragmentOf = new Map(l.nodes.map((node) => [node.id, node.fragmentId]));
  const marked = (nodeId: string): boolean => hl.has(fragmentOf.get(nodeId) ?? '');
  const drawn: PlanLayout = {
    ...l,
    nodes: l.nodes.map((node) => ({ ...node, highlight: marked(node.id) })),
    edges: l.edges.map((e) => ({ ...e, highlight: e.kind !== 'merge' && marked(e.from) && marked(e.to) })),
  };
  return layoutToSvg(drawn, { sourceOf, colors: sourceColors(sourceOf.values()), prefix: options.idPrefix ?? 'tq', title: model.queryId });
}

/** A colour per source, in order of first appearance, from a palette that stays legible on white. */
export function sourceColors(sources: Iterable<string>): Map<string, string> {
  const colors = new Map<string, string>();
  for (const source of sources) if (!colors.has(source)) colors.set(source, PALETTE[colors.size % PALETTE.length]!);
  return colors;
}

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#e15759', '#9c755f', '#ff9da7', '#bab0ac'];

/** How to paint a laid-out plan: each fragment's source and each source's colour. */
interface Paint {
  sourceOf: ReadonlyMap<string, string>;
  colors: ReadonlyMap<string, string>;
  prefix: string;
  title: string;
}

function layoutToSvg(l: PlanLayout, paint: Paint): string {
  const { prefix, title } = paint;
  const id = (name: string): string => `${xmlAttr(prefix)}-${name}`;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="tributary-plan" viewBox="0 0 ${n(l.width)} ${n(l.height)}" width="${n(l.width)}" height="${n(l.height)}" role="img" aria-label="${xmlAttr(`EXPLAIN ${title}`)}">`,
    `<title>${xmlText(`EXPLAIN ${title}`)}</title>`,
    `<defs><marker id="${id('arrow')}" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>`,
    `<marker id="${id('arrow-hl')}" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#d62728"/></marker></defs>`,
    `<style>${SVG_CSS}</style>`,
    `<rect class="canvas" x="0" y="0" width="${n(l.width)}" height="${n(l.height)}"/>`,
  ];
  for (const band of l.bands) {
    out.push(
      `<g class="band band-${band.kind}"><rect x="2" y="${n(band.y)}" width="${n(l.width - 4)}" height="${n(band.height)}" rx="6"/>` +
        `<text x="10" y="${n(band.y + 18)}">${xmlText(band.label)}</text></g>`,
    );
  }
  for (const e of l.edges) out.push(edge(e, id));
  for (const node of l.nodes) out.push(box(node, paint));
  out.push('</svg>');
  return out.join('\n');
}

function edge(e: LaidEdge, id: (name: string) => string): string {
  const d = e.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${n(p.x)},${n(p.y)}`).join(' ');
  const cls = ['edge', `edge-${e.kind}`, e.highlight ? 'critical' : ''].filter(Boolean).join(' ');
  let out = `<g class="${cls}"><path d="${d}" marker-end="url(#${id(e.highlight ? 'arrow-hl' : 'arrow')})"/>`;
  if (e.label !== undefined && e.labelAt) {
    const w = e.label.length * TEXT.charWidth + 8;
    out += `<rect class="edge-label" x="${n(e.labelAt.x - w / 2)}" y="${n(e.labelAt.y - 9)}" width="${n(w)}" height="18" rx="3"/>`;
    out += `<text x="${n(e.labelAt.x)}" y="${n(e.labelAt.y + 4)}" text-anchor="middle">${xmlText(e.label)}</text>`;
  }
  return `${out}</g>`;
}

function box(node: LaidNode, paint: Paint): string {
  const lines = (top: number): string =>
    node.shown
      .map((line, i) => `<text x="${n(node.x + 10)}" y="${n(top + (i + 1) * TEXT.lineHeight - 4)}"${i === 0 ? ' class="title"' : ''}>${xmlText(line)}</text>`)
      .join('');
  if (node.kind === 'fragment') {
    const sourceName = paint.sourceOf.get(node.fragmentId ?? '') ?? '';
    const color = paint.colors.get(sourceName) ?? '#888';
    return (
      `<g class="fragment${node.highlight ? ' critical' : ''}" data-fragment="${xmlAttr(node.fragmentId ?? '')}" data-source="${xmlAttr(sourceName)}">` +
      `<rect class="box" x="${n(node.x)}" y="${n(node.y)}" width="${n(node.width)}" height="${n(node.height)}" rx="5" fill="${tint(color)}"/>` +
      `<rect class="stripe" x="${n(node.x)}" y="${n(node.y)}" width="${n(node.width)}" height="6" rx="2" fill="${color}"/>` +
      `<circle class="status-dot" cx="${n(node.x + node.width - 10)}" cy="${n(node.y + 18)}" r="5"/>` +
      `${lines(node.y + 12)}<title>${xmlText(node.lines.join('\n'))}</title></g>`
    );
  }
  const cls = node.kind === 'merge' ? 'merge-op' : 'result';
  return (
    `<g class="${cls}"><rect class="box" x="${n(node.x)}" y="${n(node.y)}" width="${n(node.width)}" height="${n(node.height)}" rx="${node.kind === 'result' ? n(node.height / 2) : 3}"/>` +
    `${lines(node.y + 8)}<title>${xmlText(node.lines.join('\n'))}</title></g>`
  );
}

/** The source colour mixed with white, for a box's body. */
function tint(hex: string): string {
  const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `#${c.map((v) => Math.round(v + (255 - v) * 0.82).toString(16).padStart(2, '0')).join('')}`;
}

const SVG_CSS = [
  '.tributary-plan text{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;fill:#222}',
  '.tributary-plan .canvas{fill:#fff}',
  '.tributary-plan .band rect{fill:#f4f6f8;stroke:#dde2e7}',
  '.tributary-plan .band-merge rect{fill:#f8f5ef}',
  '.tributary-plan .band text{fill:#667;font-weight:600}',
  '.tributary-plan .edge path{fill:none;stroke:#555;stroke-width:1.4}',
  '.tributary-plan .edge-order path{stroke-dasharray:5 4}',
  '.tributary-plan .edge-merge path{stroke:#888}',
  '.tributary-plan .edge.critical path{stroke:#d62728;stroke-width:3}',
  '.tributary-plan .edge-label{fill:#fff;stroke:#ccc}',
  '.tributary-plan .fragment .box{stroke:#556;stroke-width:1.2}',
  '.tributary-plan .fragment.critical .box{stroke:#d62728;stroke-width:3}',
  '.tributary-plan .fragment .title,.tributary-plan .merge-op .title{font-weight:700}',
  '.tributary-plan .status-dot{fill:none}',
  '.tributary-plan .merge-op .box{fill:#fff7e6;stroke:#b8860b}',
  '.tributary-plan .result .box{fill:#eef;stroke:#557}',
].join('');

/** Numbers in the drawing: at most one decimal. */
function n(v: number): string {
  return String(Math.round(v * 10) / 10);
}

// eslint-disable-next-line no-control-regex -- characters XML 1.0 forbids are the point
const XML_INVALID = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

/** Text content for XML/HTML: `&`, `<`, `>` escaped, characters XML forbids dropped. */
export function xmlText(text: string): string {
  return text.replace(XML_INVALID, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A double- or single-quoted attribute value. */
export function xmlAttr(text: string): string {
  return xmlText(text).replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
