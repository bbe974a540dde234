/**
 * The live page's script, plain JavaScript run by the browser. It listens to `/events`
 * and keeps the page in step: a section per query (its DAG, drawn by the server, with
 * each fragment's `data-status` set from its state), progress, the lanes table and the log.
 * Everything that comes from a plan or an event is inserted as text; only the server's
 * own SVG drawings (whose texts it escaped) are inserted as markup.
 */
export const LIVE_SCRIPT = String.raw`
'use strict';
const queries = new Map();
const $ = (sel, root) => (root || document).querySelector(sel);
const el = (tag, attrs, text) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
};
const FINAL = new Set(['succeeded', 'cached', 'failed', 'skipped', 'stopped']);

function section(view) {
  let q = queries.get(view.key);
  if (q) return q;
  const root = el('section', { class: 'query', 'data-key': view.key });
  const h2 = el('h2');
  h2.append(el('span', { class: 'name' }, view.queryId), el('span', { class: 'badge' }));
  root.append(h2, el('div', { class: 'progress' }), el('p', { class: 'note' }), el('figure', { class: 'plan' }), el('p', { class: 'error' }),
    el('figure', { class: 'timeline', hidden: '' }));
  const p = $('.progress', root);
  p.append(el('progress', { max: '100', value: '0' }), el('span', { class: 'counts' }));
  $('#empty') && $('#empty').remove();
  $('#queries').prepend(root);
  q = { root, view, svg: undefined, timeline: undefined };
  queries.set(view.key, q);
  return q;
}

function renderQuery(view) {
  const q = section(view);
  q.view = view;
  q.root.dataset.state = view.state;
  $('.badge', q.root).textContent = view.state + (view.durationMs !== undefined ? ' · ' + view.durationMs.toFixed(1) + ' ms' : '');
  const plan = $('figure.plan', q.root);
  if (view.svg && view.svg !== q.svg) {
    plan.innerHTML = view.svg;
    q.svg = view.svg;
  } else if (!view.svg) {
    renderChips(plan, view);
  }
  if (view.timeline && view.timeline !== q.timeline) {
    const t = $('figure.timeline', q.root);
    t.innerHTML = view.timeline;
    t.hidden = false;
    q.timeline = view.timeline;
  }
  $('.error', q.root).textContent = view.error || '';
  $('.note', q.root).textContent = view.note || '';
  paint(q);
}

function renderChips(plan, view) {
  let chips = $('.chips', plan);
  if (!chips) { chips = el('div', { class: 'chips' }); plan.replaceChildren(chips); }
  const ids = Object.keys(view.fragments).sort((a, b) => view.fragments[a].level - view.fragments[b].level);
  for (const id of ids) {
    const f = view.fragments[id];
    // The source as EXPLAIN writes it: "shop (remote)" when its calls run on BullMQ workers.
    const text = id + ' · ' + f.source + (f.remote ? ' (remote)' : '');
    const chip = [...chips.children].find((c) => c.dataset.fragment === id);
    if (chip) { if (chip.textContent !== text) chip.textContent = text; continue; }
    chips.append(el('span', { 'data-fragment': id, title: f.source + ', level ' + f.level }, text));
  }
}

function paint(q) {
  const view = q.view;
  if (!view.svg) renderChips($('figure.plan', q.root), view);
  for (const node of q.root.querySelectorAll('figure.plan [data-fragment]')) {
    const f = view.fragments[node.dataset.fragment];
    node.dataset.status = f ? f.state : 'pending';
  }
  renderProgress(q);
}

function renderProgress(q) {
  const view = q.view;
  const states = Object.values(view.fragments).map((f) => f.state);
  const count = (s) => states.filter((x) => x === s).length;
  const p = view.progress || {
    total: view.total || states.length, succeeded: count('succeeded') + count('cached'), cached: count('cached'),
    failed: count('failed'), skipped: count('skipped'), running: count('running') + count('retrying'), retries: 0,
    percent: view.state === 'running' ? 0 : 100,
  };
  const finished = states.filter((s) => FINAL.has(s)).length;
  const percent = view.progress ? p.percent : Math.round((100 * finished) / Math.max(1, p.total));
  $('progress', q.root).value = percent;
  $('.counts', q.root).textContent = finished + '/' + p.total + ' fragments · ' + p.running + ' running · ' + p.succeeded + ' succeeded (' + p.cached + ' cached) · ' +
    p.failed + ' failed · ' + p.skipped + ' skipped · ' + p.retries + ' retries · ' + percent + '%';
}

function renderLanes(lanes) {
  const body = $('#lanes tbody');
  body.replaceChildren();
  const rows = [['global', lanes.global]].concat(Object.entries(lanes.sources));
  for (const [name, s] of rows) {
    // An unlimited lane (JSON turns Infinity into null) is measured against the global cap.
    const limit = s.limit === null ? lanes.global.limit : s.limit;
    const bar = el('div', { class: 'lane-bar' });
    const fill = el('i');
    fill.style.width = Math.min(100, (100 * s.running) / Math.max(1, limit)) + '%';
    bar.append(fill);
    const tr = el('tr', { 'data-lane': name });
    const barCell = el('td');
    barCell.append(bar);
    tr.append(el('td', {}, name), el('td', { class: 'running' }, String(s.running)), barCell, el('td', { class: 'queued' }, String(s.queued)), el('td', {}, s.limit === null ? '∞' : String(s.limit)));
    body.append(tr);
  }
}

function addLog(line) {
  const log = $('#log');
  const li = el('li', { class: line.type.replace(/\./g, '-') + (line.failure ? ' failure' : '') });
  li.append(el('span', { class: 't' }, '+' + line.at.toFixed(1).padStart(7) + ' ms '), document.createTextNode(line.key.replace(/#\d+$/, '') + ' ' + line.type + ' ' + line.text));
  const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  log.append(li);
  while (log.children.length > 500) log.firstElementChild.remove();
  if (atEnd) log.scrollTop = log.scrollHeight;
}

const source = new EventSource('/events');
const on = (type, fn) => source.addEventListener(type, (e) => fn(JSON.parse(e.data)));
source.onopen = () => { $('#conn').textContent = 'live'; $('#conn').className = 'live'; };
source.onerror = () => { $('#conn').textContent = 'reconnecting…'; $('#conn').className = ''; };
on('snapshot', (m) => {
  queries.clear();
  $('#queries').replaceChildren();
  for (const view of m.queries) renderQuery(view);
  $('#log').replaceChildren();
  for (const line of m.log) addLog(line);
  if (m.lanes) renderLanes(m.lanes);
});
on('query', (m) => renderQuery(m.query));
on('fragments', (m) => {
  const q = queries.get(m.key);
  if (!q) return;
  Object.assign(q.view.fragments, m.changes);
  paint(q);
});
on('progress', (m) => {
  const q = queries.get(m.key);
  if (!q) return;
  q.view.progress = m.progress;
  renderProgress(q);
});
on('log', (m) => addLog(m.line));
on('lanes', (m) => renderLanes(m.lanes));
`;
