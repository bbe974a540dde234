import type { TributaryError } from '../errors.js';
import type { Row } from '../data/row.js';
import type { PreparedPlan } from './prepare.js';
import type { StatusTable } from './status-table.js';
import { buildCompleteness, whyNeverRan, type Completeness } from './completeness.js';
import type { Recording } from '../durable/recording.js';

/** What happened to one fragment. */
export interface FragmentReport {
  source: string;
  level: number;
  /** The fragments it depended on (so a result can be analyzed without its plan). */
  dependsOn: string[];
  /** `dropped`: an optional fragment the query's deadline cut (see `completeness`). */
  status: 'succeeded' | 'failed' | 'skipped' | 'cancelled' | 'dropped';
  rowCount: number;
  /** Tries of the fragment's longest-tried batch (0 when served from the cache). */
  attempts: number;
  /** Source calls made: attempts summed over batches. */
  calls: number;
  cached: boolean;
  /** Milliseconds since the query started; undefined if it never started. */
  startedAt: number | undefined;
  durationMs: number | undefined;
  /** Its share of the query's deadline, when the query had one and it started. */
  budgetMs?: number;
}

/** The outcome of one query. */
export interface QueryResult {
  queryId: string;
  /** The run's own id (`QueryRun.runId`), as on its events. */
  runId: string;
  status: 'ok' | 'partial' | 'failed';
  rows: Row[];
  columns: string[];
  fragments: Record<string, FragmentReport>;
  /** Every failure: a `FragmentError` per failed fragment, or the merge's error. */
  errors: TributaryError[];
  /** Whether the answer holds every row, and which fragments did not contribute all theirs, and why. */
  completeness: Completeness;
  /** With `run(plan, { record: true })`: the recording, as `run.recording()` returns it. */
  recording?: Recording;
  stats: {
    durationMs: number;
    fragments: number;
    cacheHits: number;
    retries: number;
    /** Rows that came from sources (not from the cache). */
    rowsFetched: number;
  };
}

/** The outcome as the run knows it when the machine has stopped. */
export interface RunOutcome {
  runId: string;
  failed: boolean;
  rows: Row[];
  columns: string[];
  errors: TributaryError[];
  retries: number;
  durationMs: number;
  /** Its rows went to `run.rows()` as they came (see `FragmentCompleteness.rowsStreamed`). */
  streamed?: boolean;
}

/** Builds the `QueryResult` from the run's status table and what lived outside it. */
export function buildResult(prepared: PreparedPlan, table: StatusTable, outcome: RunOutcome): QueryResult {
  const fragments: Record<string, FragmentReport> = {};
  let cacheHits = 0;
  let rowsFetched = 0;
  let incomplete = false;
  const neverRan = whyNeverRan(prepared, table);
  for (const f of prepared.fragments) {
    const state = table.state(f.index);
    const status: FragmentReport['status'] =
      state === 'succeeded' || state === 'failed' || state === 'skipped' || state === 'dropped' ? state : state === 'pending' ? neverRan(f.index) : 'cancelled';
    const cached = table.cached(f.index);
    const report: FragmentReport = {
      source: f.source,
      level: f.level,
      dependsOn: f.dependsOnIds.slice(),
      status,
      rowCount: table.rowCount(f.index),
      attempts: table.attempts(f.index),
      calls: table.calls(f.index),
      cached,
      startedAt: table.startedAt(f.index),
      durationMs: table.ranMs(f.index, outcome.durationMs),
    };
    const budgetMs = table.budgetMs(f.index);
    if (budgetMs !== undefined) report.budgetMs = Math.max(0, Math.round(budgetMs));
    // A fragment may be called `__proto__`: that one is defined, not assigned.
    if (f.id === '__proto__') Object.defineProperty(fragments, f.id, { value: report, enumerable: true, writable: true, configurable: true });
    else fragments[f.id] = report;
    if (cached) cacheHits++;
    // Not a fragment that joined another's load in flight: those rows came once, with its calls.
    else if (status === 'succeeded' && report.calls > 0) rowsFetched += report.rowCount;
    if (status !== 'succeeded') incomplete = true;
  }
  return {
    queryId: prepared.id,
    runId: outcome.runId,
    status: outcome.failed ? 'failed' : incomplete ? 'partial' : 'ok',
    rows: outcome.failed ? [] : outcome.rows,
    columns: outcome.failed ? [] : outcome.columns,
    fragments,
    errors: outcome.errors,
    completeness: buildCompleteness(prepared, table, outcome.durationMs, outcome.streamed),
    stats: {
      durationMs: outcome.durationMs,
      fragments: prepared.fragments.length,
      cacheHits,
      retries: outcome.retries,
      rowsFetched,
    },
  };
}
