import { inputText, planWideText, policyText, sourceText } from './describe.js';
import { analyzeSvg, type TimelineModel } from './gantt-svg.js';
import { explainSvg, sourceColors, xmlText, type ExplainModel, type SvgOptions } from './svg.js';
import { count } from './count.js';

export interface HtmlOptions extends SvgOptions {
  /** EXPLAIN ANALYZE of a run of this plan: adds the timeline and the critical path. */
  analysis?: TimelineModel;
}

/**
 * EXPLAIN as one self-contained HTML page: the plan drawn as SVG (see `explainSvg`), a
 * legend of the sources, a table of the fragments with their queries and bound inputs and,
 * given an analysis, the EXPLAIN ANALYZE timeline with the critical path. No script, no
 * font, no stylesheet from anywhere: the file opens offline.
 */
export function explainHtml(model: ExplainModel, options: HtmlOptions = {}): string {
  const { analysis } = options;
  const critical = analysis ? new Set(analysis.criticalPath) : undefined;
  const svg = explainSvg(model, { ...options, ...(critical && !options.highlighted ? { highlighted: critical } : {}) });
  const title = analysis ? `EXPLAIN ANALYZE ${model.queryId}` : `EXPLAIN ${model.queryId}`;
  const body = [
    `<h1>${xmlText(title)}</h1>`,
    `<p class="meta">${xmlText(metaText(model))}</p>`,
    legendHtml(model.fragments.map((f) => f.source)),
    `<figure class="plan">${svg}</figure>`,
    ...(analysis ? [`<h2>Timeline</h2>`, `<figure class="timeline">${analyzeSvg(analysis)}</figure>`] : []),
    `<h2>Fragments</h2>`,
    fragmentsTable(model, analysis),
  ];
  return htmlDocument(title, body.join('\n'));
}

/** `3 fragments in 2 levels · errorPolicy partial · schedule levels · deadline 500 ms · every fragment (…): timeout 500 ms`. */
function metaText(model: ExplainModel): string {
  const parts = [`${count(model.fragments.length, 'fragment')} in ${count(model.levels.length, 'level')}`, `errorPolicy ${model.errorPolicy}`, `schedule ${model.schedule}`];
  if (model.deadlineMs !== undefined) parts.push(`deadline ${model.deadlineMs} ms`);
  const planWide = planWideText(model.planWide);
  if (planWide) parts.push(planWide);
  return parts.join(' · ');
}

/** A complete page around `body`, with the shared stylesheet inline. */
export function htmlDocument(title: string, body: string, extraHead = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${xmlText(title)}</title>
<style>${PAGE_CSS}</style>
${extraHead}
</head>
<body>
${body}
</body>
</html>
`;
}

/** A chip per source in its drawing colour. */
export function legendHtml(sources: Iterable<string>): string {
  const chips = [...sourceColors(sources)].map(([source, color]) => `<span class="chip"><i style="background:${color}"></i>${xmlText(source)}</span>`);
  return `<p class="legend">${chips.join(' ')}</p>`;
}

function fragmentsTable(model: ExplainModel, analysis: TimelineModel | undefined): string {
  const timing = new Map(analysis?.fragments.map((f) => [f.id, f]));
  const head = ['fragment', 'source', 'level', 'query', 'bound inputs', 'overrides', ...(analysis ? ['status', 'ms', 'rows'] : [])];
  const rows = model.fragments.map((f) => {
    const t = timing.get(f.id);
    const cells = [f.id, sourceText(f), String(f.level), f.summary, f.inputs.map(inputText).join('; '), policyText(f)];
    if (analysis) cells.push(t ? (t.cached ? 'cached' : t.status) : '', t?.durationMs === undefined ? '' : t.durationMs.toFixed(1), t ? String(t.rowCount) : '');
    const cls = t?.critical ? ' class="critical"' : '';
    return `<tr${cls}>${cells.map((c) => `<td>${xmlText(c)}</td>`).join('')}</tr>`;
  });
  return `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** The stylesheet of the EXPLAIN page and the live view. */
export const PAGE_CSS = [
  'body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:16px 24px;color:#222;background:#fafbfc}',
  'h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:20px 0 6px}',
  '.meta{color:#667;margin:0 0 8px}',
  'figure{margin:8px 0;overflow:auto;background:#fff;border:1px solid #e3e6ea;border-radius:6px;padding:6px}',
  'figure svg{display:block;max-width:none}',
  '.legend .chip{display:inline-block;margin-right:12px}.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-1px}',
  'table{border-collapse:collapse;background:#fff;font-size:13px}',
  'th,td{border:1px solid #e3e6ea;padding:3px 8px;text-align:left;vertical-align:top}',
  'td{font-family:ui-monospace,Menlo,Consolas,monospace}',
  'tr.critical td{color:#b01e1e;font-weight:600}',
].join('\n');
