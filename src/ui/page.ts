import { htmlDocument } from '../explain/index.js';
import { LIVE_SCRIPT } from './client.js';

/** The states a fragment goes through, in the order the legend shows them. */
const STATES: [state: string, fill: string, stroke: string][] = [
  ['pending', '#ffffff', '#9aa3ad'],
  ['queued', '#eef0f3', '#6b7785'],
  ['running', '#dbeafe', '#2563eb'],
  ['retrying', '#fef3c7', '#d97706'],
  ['succeeded', '#dcfce7', '#16a34a'],
  ['cached', '#ccfbf1', '#0d9488'],
  ['failed', '#fee2e2', '#dc2626'],
  ['skipped', '#f3f4f6', '#9ca3af'],
  ['stopped', '#f3f4f6', '#6b7280'],
];

const LIVE_CSS = [
  'header{display:flex;align-items:baseline;gap:16px}',
  '#conn{color:#667}#conn.live{color:#16a34a}',
  '.cols{display:grid;grid-template-columns:minmax(0,1fr) 400px;gap:20px;align-items:start}',
  '.query{background:#fff;border:1px solid #e3e6ea;border-radius:8px;padding:10px 14px;margin-bottom:16px}',
  '.query h2{margin:0 0 6px}.query .badge{font-size:12px;padding:1px 8px;border-radius:10px;margin-left:8px;background:#dbeafe;color:#1e40af}',
  '.query[data-state=ok] .badge{background:#dcfce7;color:#166534}.query[data-state=partial] .badge{background:#fef3c7;color:#92400e}',
  '.query[data-state=failed] .badge{background:#fee2e2;color:#991b1b}',
  '.progress{display:flex;align-items:center;gap:10px;margin:4px 0 8px}.progress progress{width:260px;height:14px}',
  '.error{color:#b01e1e}',
  '.chips{display:flex;flex-wrap:wrap;gap:6px}.chips span{border:2px solid #9aa3ad;border-radius:4px;padding:2px 6px;font-family:ui-monospace,monospace;font-size:12px}',
  '#lanes{width:100%}#lanes td,#lanes th{font-size:12px;white-space:nowrap}.lane-bar{width:90px;height:10px;background:#eef0f3;border-radius:3px;overflow:hidden}.lane-bar i{display:block;height:100%;background:#2563eb}',
  '#log{font:12px/1.35 ui-monospace,Menlo,Consolas,monospace;max-height:420px;overflow:auto;background:#fff;border:1px solid #e3e6ea;border-radius:6px;padding:6px 8px;margin:0;list-style:none}',
  '#log li{white-space:pre-wrap;word-break:break-word}#log .t{color:#667}#log .failure{color:#b01e1e}',
  '.states span{display:inline-block;margin:0 10px 4px 0;font-size:12px}.states i{display:inline-block;width:12px;height:12px;border:2px solid;border-radius:3px;margin-right:4px;vertical-align:-2px}',
  '@keyframes pulse{50%{stroke-opacity:.35}}',
  ...STATES.map(
    ([state, fill, stroke]) =>
      `.tributary-plan g.fragment[data-status=${state}] .box{fill:${fill};stroke:${stroke};stroke-width:2.5}` +
      `.tributary-plan g.fragment[data-status=${state}] .status-dot{fill:${stroke}}` +
      `.chips span[data-status=${state}]{background:${fill};border-color:${stroke}}` +
      `.states .s-${state} i{background:${fill};border-color:${stroke}}`,
  ),
  '.tributary-plan g.fragment[data-status=pending] .box{stroke-dasharray:5 3}',
  '.tributary-plan g.fragment[data-status=running] .box{animation:pulse 1s ease-in-out infinite}',
  '.tributary-plan g.fragment[data-status=skipped],.tributary-plan g.fragment[data-status=stopped]{opacity:.6}',
  'figure.plan svg,figure.timeline svg{max-width:100%;height:auto}',
].join('\n');

/** The live page: markup, stylesheet and script in one document; the script carries `nonce`. */
export function livePage(nonce: string): string {
  const legend = STATES.map(([state]) => `<span class="s-${state}"><i></i>${state}</span>`).join('');
  const body = `
<header><h1>tributary · live</h1><span id="conn">connecting…</span></header>
<p class="states">${legend}</p>
<div class="cols">
  <main id="queries"><p id="empty">No query yet: runs of this executor appear here as they start.</p></main>
  <aside>
    <h2>Source lanes</h2>
    <table id="lanes"><thead><tr><th>lane</th><th>running</th><th></th><th>queued</th><th>limit</th></tr></thead><tbody></tbody></table>
    <h2>Events</h2>
    <ol id="log"></ol>
  </aside>
</div>
<script nonce="${nonce}">${LIVE_SCRIPT}</script>`;
  return htmlDocument('tributary · live', body, `<style>${LIVE_CSS}</style>`);
}
