import type { FragmentStatus, QueryContext } from '../machines/query.machine.js';
import type { TributaryError } from './errors.js';
import type { Row } from './data/row.js';

/** What happened to one fragment. */
export interface FragmentReport {
  source: string;
  level: number;
  /** The fragments it depended on (so a result can be analyzed without its plan). */
  dependsOn: string[];
  status: 'succeeded' | 'failed' | 'skipped' | 'cancelled';
  rowCount: number;
  /** Tries of the fragment's longest-tried batch (0 when served from the cache). */
  attempts: number;
  /** Source calls made: attempts summed over batches. */
  calls: number;
  cached: boolean;
  /** Milliseconds since the query started; undefined if it never started. */
  startedAt: number | undefined;
  durationMs: number | undefined;
}

/** The outcome of one query. */
export interface QueryResult {
  queryId: string;
  status: 'ok' | 'partial' | 'failed';
  rows: Row[];
  columns: string[];
  fragments: Record<string, FragmentReport>;
  /** Every failure: a `FragmentError` per failed fragment, or the merge's error. */
  errors: TributaryError[];
  stats: {
    durationMs: number;
    fragments: number;
    cacheHits: number;
    retries: number;
    /** Rows that came from sources (not from the cache). */
    rowsFetched: number;
  };
}

function report(f: FragmentStatus): FragmentReport {
  const status: FragmentReport['status'] =
    f.status === 'succeeded' || f.status === 'failed' || f.status === 'skipped'
      ? f.status
      : f.status === 'pending'
        ? 'skipped'
        : 'cancelled';
  return {
    source: f.source,
    level: f.level,
    dependsOn: [...f.dependsOn],
    status,
    rowCount: f.rowCount,
    attempts: f.attempts,
    calls: f.calls,
    cached: f.cached,
    startedAt: f.startedAt,
    durationMs: f.durationMs,
  };
}

/** Builds the `QueryResult` from the machine's final context and what lived outside it. */
export function buildResult(
  context: QueryContext,
  outcome: { failed: boolean; rows: Row[]; columns: string[]; errors: TributaryError[]; retries: number; durationMs: number },
): QueryResult {
  const fragments: Record<string, FragmentReport> = {};
  let cacheHits = 0;
  let rowsFetched = 0;
  let incomplete = false;
  for (const [id, f] of Object.entries(context.fragments)) {
    const r = report(f);
    Object.defineProperty(fragments, id, { value: r, enumerable: true, writable: true, configurable: true });
    if (r.cached) cacheHits++;
    else if (r.status === 'succeeded') rowsFetched += r.rowCount;
    if (r.status !== 'succeeded') incomplete = true;
  }
  return {
    queryId: context.queryId,
    status: outcome.failed ? 'failed' : incomplete ? 'partial' : 'ok',
    rows: outcome.failed ? [] : outcome.rows,
    columns: outcome.failed ? [] : outcome.columns,
    fragments,
    errors: outcome.errors,
    stats: {
      durationMs: outcome.durationMs,
      fragments: Object.keys(context.fragments).length,
      cacheHits,
      retries: outcome.retries,
      rowsFetched,
    },
  };
}
