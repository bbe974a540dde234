import type { AnalysisModel } from './model.js';
import { ganttTaskName, ganttText } from './escape.js';

type Analysis = AnalysisModel;

/**
 * EXPLAIN ANALYZE as a Mermaid `gantt` chart: a section per level, one bar per fragment
 * from its start to its finish, critical bars tagged `crit`, then the merge. Times are
 * whole milliseconds since the query started (`dateFormat x` reads them as epoch ms, and
 * `axisFormat %Q` prints them back as ms); a bar is at least 1 ms wide so it stays visible.
 * Fragments that never ran have no bar.
 */
export function analyzeGantt(a: Analysis): string {
  const out = [
    'gantt',
    `  title ${ganttText(`EXPLAIN ANALYZE ${a.queryId} (ms)`)}`,
    '  dateFormat x',
    '  axisFormat %Q',
    '  todayMarker off',
  ];
  const levels = [...new Set(a.fragments.map((f) => f.level))].sort((x, y) => x - y);
  for (const level of levels) {
    const bars = a.fragments
      .map((f, i) => ({ f, i }))
      .filter(({ f }) => f.level === level && f.startedAt !== undefined && f.finishedAt !== undefined);
    if (bars.length === 0) continue;
    out.push(`  section level ${level}`);
    for (const { f, i } of bars) {
      const name = ganttTaskName(f.cached ? `${f.id} (cached)` : f.status === 'succeeded' ? f.id : `${f.id} (${f.status})`);
      out.push(`    ${name} :${f.critical ? 'crit, ' : ''}f${i}, ${span(f.startedAt!, f.finishedAt!)}`);
    }
  }
  if (a.merge) {
    out.push('  section merge');
    out.push(`    merge :m, ${span(a.merge.startedAt, a.merge.finishedAt)}`);
  }
  return out.join('\n');
}

function span(start: number, end: number): string {
  const from = Math.floor(start);
  return `${from}, ${Math.max(from + 1, Math.round(end))}`;
}
