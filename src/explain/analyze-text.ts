import type { AnalysisModel } from './model.js';
import { ms } from './describe.js';
import { oneLine, plainText } from './escape.js';
import { count } from './count.js';

type Analysis = AnalysisModel;

const HEADERS = ['fragment', 'source', 'level', 'status', 'queued', 'started', 'finished', 'duration', 'attempts', 'rows', 'bytes', 'cached'] as const;
/** With a query deadline, each fragment's budget follows its duration. */
const BUDGET_AT = HEADERS.indexOf('duration') + 1;
/** Numeric columns are right-aligned. */
const RIGHT = new Set<string>(['level', 'queued', 'started', 'finished', 'duration', 'budget', 'attempts', 'rows', 'bytes']);

/**
 * EXPLAIN ANALYZE as a table; critical fragments are starred. Times in ms since the query
 * started; `-` where unknown (queued without events, a fragment that never ran).
 *
 * ```text
 * EXPLAIN ANALYZE q: ok in 212.4 ms, 4 fragments, 0 cache hits, 0 retries
 * critical path: a → b → d (* below)
 *
 *   fragment  source  level  status     queued  started  finished  duration  attempts  rows  bytes  cached
 * * a         slow        0  succeeded     0.4      0.6      31.5      30.9         1     1      -  no
 * ```
 *
 * A run under a query deadline adds a `budget` column after `duration` (each fragment's share
 * of the deadline, against the time it used) and, below, the fragments that did not contribute
 * all their rows, and why.
 */
export function analyzeText(a: Analysis): string {
  const budgeted = a.fragments.some((f) => f.budgetMs !== undefined);
  const headers: readonly string[] = budgeted ? [...HEADERS.slice(0, BUDGET_AT), 'budget', ...HEADERS.slice(BUDGET_AT)] : HEADERS;
  const rows = a.fragments.map((f) => [
    f.id,
    f.source,
    String(f.level),
    f.status,
    opt(f.queuedAt),
    opt(f.startedAt),
    opt(f.finishedAt),
    opt(f.durationMs),
    String(f.attempts),
    String(f.rowCount),
    f.bytes === undefined ? '-' : String(f.bytes),
    f.cached ? 'yes' : f.joined ? 'joined' : 'no',
  ]);
  if (budgeted) a.fragments.forEach((f, i) => rows[i]!.splice(BUDGET_AT, 0, opt(f.budgetMs)));
  // A source name is shown escaped (see the end), and measured as shown.
  for (const r of rows) r[1] = plainText(r[1]!);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (RIGHT.has(headers[i]!) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const s = a.stats;
  const out = [
    `EXPLAIN ANALYZE ${oneLine(a.queryId)}: ${a.status} in ${ms(a.durationMs)} ms, ${count(s.fragments, 'fragment')}, ${count(s.cacheHits, 'cache hit')}, ${count(s.retries, 'retry', 'retries')}`,
    `critical path: ${a.criticalPath.length > 0 ? a.criticalPath.join(' → ') : '(none: no fragment finished)'} (* below)`,
    '',
    `  ${line(headers)}`,
    ...rows.map((r, i) => `${a.fragments[i]!.critical ? '*' : ' '} ${line(r)}`),
  ];
  if (a.merge) out.push('', `merge: ${ms(a.merge.startedAt)} → ${ms(a.merge.finishedAt)} ms`);
  const short = a.completeness ? Object.entries(a.completeness.fragments) : [];
  if (short.length > 0) {
    // A satisfied limit stops fragments of a complete answer: listed, never called incomplete.
    out.push('', a.completeness!.complete ? 'complete, though cut short: no rows missing' : 'incomplete: rows may be missing');
    for (const [id, f] of short) out.push(`  ${oneLine(id)}: ${f.status} (${f.reason})${f.budgetMs === undefined ? '' : `, ${ms(f.usedMs)} of ${ms(f.budgetMs)} ms budget`}`);
  }
  // Each entry is one line: control characters in names are shown escaped, never printed.
  return out.map(plainText).join('\n');
}

function opt(n: number | undefined): string {
  return n === undefined ? '-' : ms(n);
}
