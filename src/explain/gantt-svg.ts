import type { QueryAnalysis } from './model.js';
import { ms } from './describe.js';
import { sourceColors, xmlAttr, xmlText } from './svg.js';
import { count } from './count.js';

/** What the timeline reads of an analysis. */
export type TimelineModel = Pick<QueryAnalysis, 'queryId' | 'status' | 'durationMs' | 'fragments' | 'criticalPath' | 'merge'>;

const ROW = 22;
const LABEL = 170;
const CHART = 620;
const INFO = 230;
const TOP = 34;

/**
 * EXPLAIN ANALYZE's timeline as a standalone SVG (a Gantt chart): one row per fragment in
 * plan order, a pale segment while it waited for a lane slot, a bar in its source's colour
 * while it ran, the critical path outlined in red, then the merge; an axis in milliseconds
 * since the query started and the critical path spelled out below. Fragments that never
 * ran get a row with their status and no bar.
 */
export function analyzeSvg(a: TimelineModel): string {
  const colors = sourceColors(a.fragments.map((f) => f.source));
  const end = Math.max(a.durationMs, a.merge?.finishedAt ?? 0, ...a.fragments.map((f) => f.finishedAt ?? 0), 1);
  const x = (t: number): number => LABEL + (Math.max(0, t) / end) * CHART;
  const rows = a.fragments.length + (a.merge ? 1 : 0);
  const height = TOP + rows * ROW + 52;
  const width = LABEL + CHART + INFO;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="tributary-timeline" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${xmlAttr(`EXPLAIN ANALYZE ${a.queryId}`)}">`,
    `<title>${xmlText(`EXPLAIN ANALYZE ${a.queryId}: ${a.status} in ${ms(a.durationMs)} ms`)}</title>`,
    `<style>${CSS}</style>`,
    `<rect class="canvas" width="${width}" height="${height}"/>`,
    `<text class="heading" x="8" y="18">${xmlText(`EXPLAIN ANALYZE ${a.queryId}: ${a.status} in ${ms(a.durationMs)} ms`)}</text>`,
  ];
  for (const t of ticks(end)) {
    out.push(`<line class="tick" x1="${r(x(t))}" y1="${TOP - 6}" x2="${r(x(t))}" y2="${TOP + rows * ROW}"/><text class="axis" x="${r(x(t))}" y="${TOP + rows * ROW + 14}" text-anchor="middle">${t} ms</text>`);
  }
  a.fragments.forEach((f, i) => {
    const y = TOP + i * ROW;
    const label = `${f.id}`;
    out.push(`<g class="row${f.critical ? ' critical' : ''}" data-fragment="${xmlAttr(f.id)}" data-status="${xmlAttr(f.cached ? 'cached' : f.status)}">`);
    out.push(`<text x="8" y="${y + 15}">${xmlText(label.length > 22 ? `${label.slice(0, 21)}…` : label)}</text>`);
    if (f.queuedAt !== undefined && f.startedAt !== undefined && f.startedAt > f.queuedAt) {
      out.push(`<rect class="queued" x="${r(x(f.queuedAt))}" y="${y + 7}" width="${r(x(f.startedAt) - x(f.queuedAt))}" height="8"/>`);
    }
    if (f.startedAt !== undefined && f.finishedAt !== undefined) {
      const w = Math.max(2, x(f.finishedAt) - x(f.startedAt));
      out.push(`<rect class="bar" x="${r(x(f.startedAt))}" y="${y + 4}" width="${r(w)}" height="14" rx="2" style="fill:${colors.get(f.source) ?? '#888'}"><title>${xmlText(barTitle(f))}</title></rect>`);
    }
    out.push(`<text class="info" x="${LABEL + CHART + 8}" y="${y + 15}">${xmlText(info(f))}</text></g>`);
  });
  if (a.merge) {
    const y = TOP + a.fragments.length * ROW;
    const w = Math.max(2, x(a.merge.finishedAt) - x(a.merge.startedAt));
    out.push(`<g class="row merge"><text x="8" y="${y + 15}">merge</text><rect class="bar merge-bar" x="${r(x(a.merge.startedAt))}" y="${y + 4}" width="${r(w)}" height="14" rx="2"/>`);
    out.push(`<text class="info" x="${LABEL + CHART + 8}" y="${y + 15}">${ms(a.merge.finishedAt - a.merge.startedAt)} ms</text></g>`);
  }
  const path = a.criticalPath.length > 0 ? a.criticalPath.join(' → ') : '(nothing ran)';
  out.push(`<text class="path" x="8" y="${height - 10}">${xmlText(`critical path: ${path}`)}</text>`);
  out.push('</svg>');
  return out.join('\n');
}

function info(f: TimelineModel['fragments'][number]): string {
  if (f.durationMs === undefined) return f.status;
  const parts = [`${ms(f.durationMs)} ms`, count(f.rowCount, 'row')];
  if (f.cached) parts.push('cached');
  if (f.attempts > 1) parts.push(`${f.attempts} attempts`);
  if (f.status !== 'succeeded') parts.push(f.status);
  return parts.join(' · ');
}

function barTitle(f: TimelineModel['fragments'][number]): string {
  const queued = f.queuedAt === undefined ? '' : `queued at ${ms(f.queuedAt)} ms, `;
  return `${f.id} (${f.source}): ${queued}ran ${ms(f.startedAt ?? 0)}–${ms(f.finishedAt ?? 0)} ms, ${info(f)}`;
}

/** About five round tick values from 0 to `end`. */
function ticks(end: number): number[] {
  const raw = end / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = 0; t <= end + 1e-9; t += step) out.push(Math.round(t * 1000) / 1000);
  return out;
}

const r = (v: number): string => String(Math.round(v * 10) / 10);

const CSS = [
  '.tributary-timeline text{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;fill:#222}',
  '.tributary-timeline .canvas{fill:#fff}',
  '.tributary-timeline .heading{font-weight:700}',
  '.tributary-timeline .tick{stroke:#e3e6ea}',
  '.tributary-timeline .axis{fill:#667;font-size:11px}',
  '.tributary-timeline .queued{fill:#d9dde2}',
  '.tributary-timeline .bar{stroke:#334;stroke-width:.6}',
  '.tributary-timeline .row.critical .bar{stroke:#d62728;stroke-width:2.5}',
  '.tributary-timeline .row.critical text{font-weight:700}',
  '.tributary-timeline .merge-bar{fill:#daa520}',
  '.tributary-timeline .info{fill:#556}',
  '.tributary-timeline .path{fill:#d62728;font-weight:600}',
].join('');
