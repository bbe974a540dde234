import type { ExecutionEvent } from '../progress/events.js';
import type { QueryResult } from '../run/index.js';
import type { Row } from '../data/row.js';
import { estimateRowBytes } from '../data/bytes.js';
import { criticalPath } from './critical-path.js';
import { ms } from './describe.js';
import { explain, type ExplainOptions } from './explain.js';
import { explainDot } from './dot.js';
import { analyzeGantt } from './gantt.js';
import { analyzeText } from './analyze-text.js';
import { analyzeSvg } from './gantt-svg.js';
import { explainHtml } from './html.js';
import type { AnalysisModel, FragmentTiming, QueryAnalysis } from './model.js';
import { count } from './count.js';

export interface AnalyzeOptions extends Pick<ExplainOptions, 'sources' | 'limits' | 'retry' | 'hedge' | 'remote'> {
  /** The run's recorded events (`run.events$`): queued and first-call times, the merge phase. */
  events?: Iterable<ExecutionEvent>;
  /** Bytes per fragment, when the caller measured them. */
  bytes?: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
  /** Rows per fragment, to estimate bytes from (same estimate as the `maxBytes` limit). */
  rows?: ReadonlyMap<string, readonly Row[]> | Readonly<Record<string, readonly Row[]>>;
}

/**
 * EXPLAIN ANALYZE: where a finished run spent its time. Per fragment the queued, started
 * and finished times, attempts, rows, bytes and whether it came from the cache; and the
 * critical path: the chain through `dependsOn` that ends at the last fragment to finish,
 * stepping each time to the dependency that finished last.
 *
 * @example
 * const events: ExecutionEvent[] = [];
 * const run = executor.run(plan);
 * run.events$.subscribe((e) => events.push(e));
 * console.log(analyze(await run.result, plan, { events }).text());
 */
export function analyze(result: QueryResult, plan: unknown = planOf(result), options: AnalyzeOptions = {}): QueryAnalysis {
  const explained = explain(plan, {
    ...(options.sources ? { sources: options.sources } : {}),
    ...(options.limits ? { limits: options.limits, retry: options.retry, hedge: options.hedge } : {}),
    ...(options.remote ? { remote: options.remote } : {}),
  });
  const seen = eventTimes(options.events ?? []);
  const bytes = bytesOf(options);
  const fragments: FragmentTiming[] = explained.fragments.map((f) => {
    const r = result.fragments[f.id];
    const queuedAt = seen.queued.get(f.id);
    const joined = seen.joined.has(f.id);
    const startedAt = seen.started.get(f.id) ?? r?.startedAt;
    const finishedAt = r?.startedAt !== undefined && r.durationMs !== undefined ? round(r.startedAt + r.durationMs) : undefined;
    const b = bytes.get(f.id);
    return {
      id: f.id,
      source: f.source,
      level: r?.level ?? f.level,
      status: r?.status ?? 'skipped',
      dependsOn: f.dependsOn,
      ...(queuedAt === undefined ? {} : { queuedAt }),
      ...(startedAt === undefined ? {} : { startedAt }),
      ...(finishedAt === undefined ? {} : { finishedAt }),
      ...(finishedAt === undefined || startedAt === undefined ? {} : { durationMs: round(finishedAt - startedAt) }),
      ...(r?.budgetMs === undefined ? {} : { budgetMs: r.budgetMs }),
      attempts: r?.attempts ?? 0,
      calls: r?.calls ?? 0,
      rowCount: r?.rowCount ?? 0,
      ...(b === undefined ? {} : { bytes: b }),
      cached: r?.cached ?? false,
      ...(joined ? { joined: true as const } : {}),
      critical: false,
    };
  });
  const path = criticalPath(fragments);
  const onPath = new Set(path);
  for (const f of fragments) f.critical = onPath.has(f.id);

  const lastFinish = Math.max(0, ...fragments.map((f) => f.finishedAt ?? 0));
  const mergeStart = seen.merge ?? (result.status === 'failed' ? undefined : lastFinish);
  const analysis: AnalysisModel = {
    queryId: result.queryId,
    status: result.status,
    durationMs: result.stats.durationMs,
    fragments,
    criticalPath: path,
    ...(mergeStart === undefined ? {} : { merge: { startedAt: mergeStart, finishedAt: Math.max(mergeStart, result.stats.durationMs) } }),
    stats: result.stats,
    ...(result.completeness === undefined ? {} : { completeness: result.completeness }),
  };
  return {
    ...analysis,
    text: () => analyzeText(analysis),
    mermaid: () => analyzeGantt(analysis),
    dot: () => explainDot(explained, { lines: timingLines(fragments), highlighted: onPath }),
    svg: () => analyzeSvg(analysis),
    html: () => explainHtml(explained, { analysis }),
  };
}

/**
 * The plan's shape as the result records it (ids, sources, dependencies), for `analyze(result)`
 * without the plan: the queries are unknown, and the merge is drawn as a union of the
 * fragments nothing depends on.
 */
function planOf(result: QueryResult): unknown {
  const entries = Object.entries(result.fragments);
  const needed = new Set(entries.flatMap(([, f]) => f.dependsOn));
  const sinks = entries.map(([id]) => id).filter((id) => !needed.has(id));
  return {
    id: result.queryId,
    fragments: entries.map(([id, f]) => ({ id, source: f.source, query: {}, ...(f.dependsOn.length > 0 ? { dependsOn: f.dependsOn } : {}) })),
    merge: { op: 'union', inputs: sinks },
  };
}

/**
 * Queued and first-call times per fragment, and the merge's start, from recorded events. A
 * fragment that joined an identical load in flight makes no call: it starts when it joins.
 */
function eventTimes(events: Iterable<ExecutionEvent>): { queued: Map<string, number>; started: Map<string, number>; joined: Set<string>; merge?: number } {
  const queued = new Map<string, number>();
  const started = new Map<string, number>();
  const joined = new Set<string>();
  let merge: number | undefined;
  for (const e of events) {
    if (e.type === 'fragment.queued' && !queued.has(e.fragmentId)) queued.set(e.fragmentId, e.at);
    else if ((e.type === 'fragment.started' || e.type === 'fragment.cached' || e.type === 'fragment.joined') && !started.has(e.fragmentId)) {
      started.set(e.fragmentId, e.at);
      if (e.type === 'fragment.joined') joined.add(e.fragmentId);
    } else if (e.type === 'merge.started') merge = e.at;
  }
  return { queued, started, joined, ...(merge === undefined ? {} : { merge }) };
}

function bytesOf(options: AnalyzeOptions): Map<string, number> {
  const out = new Map<string, number>();
  if (options.rows) {
    const entries = options.rows instanceof Map ? [...options.rows] : Object.entries(options.rows);
    for (const [id, rows] of entries as [string, readonly Row[]][]) out.set(id, rows.reduce((sum, row) => sum + estimateRowBytes(row), 0));
  }
  if (options.bytes) {
    const entries = options.bytes instanceof Map ? [...options.bytes] : Object.entries(options.bytes);
    for (const [id, n] of entries as [string, number][]) out.set(id, n);
  }
  return out;
}

function timingLines(fragments: readonly FragmentTiming[]): Map<string, string[]> {
  return new Map(
    fragments.map((f) => {
      const time = f.durationMs === undefined ? f.status : `${ms(f.durationMs)} ms, ${count(f.rowCount, 'row')}${f.cached ? ', cached' : f.joined ? ', joined' : ''}${f.attempts > 1 ? `, ${f.attempts} attempts` : ''}`;
      return [f.id, [time]];
    }),
  );
}

const round = (n: number): number => Math.round(n * 1000) / 1000;

