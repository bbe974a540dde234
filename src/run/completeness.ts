import type { PreparedPlan } from './prepare.js';
import type { StatusTable } from './status-table.js';

/** Why a fragment did not contribute all its rows. */
export type CompletenessReason =
  /** An optional fragment dropped (or a required one failed) when the query's deadline or its budget ran out. */
  | 'deadline'
  /** It failed (under `errorPolicy: "partial"`, or before a fail-fast stop). */
  | 'failed'
  /** It never ran: a fragment it depends on failed, was dropped, or was itself skipped or stopped before it finished. */
  | 'skipped'
  /** The query was stopped (fail-fast, cancellation) while it was queued or running, or while it was ready and waiting for its turn. */
  | 'cancelled'
  /** Its source was stopped once a satisfied limit had the rows it needed (streaming). */
  | 'limit-stopped'
  /** Not run: a limit was already satisfied when it was ready (streaming). */
  | 'limit-satisfied'
  /**
   * Stopped, or never run, because the consumer of `run.rows()` left the loop early (a
   * `break`, a `return` or a throw) while its rows were still wanted (streaming).
   */
  | 'consumer-left';

/** One fragment that did not contribute all its rows, and why. */
export interface FragmentCompleteness {
  status: 'succeeded' | 'failed' | 'skipped' | 'dropped' | 'cancelled';
  reason: CompletenessReason;
  /** True when the query's answer may lack rows because of it (false only for a satisfied limit). */
  rowsMayBeMissing: boolean;
  attempts: number;
  cached: boolean;
  /**
   * How old its cached rows were. Reserved: with today's reasons a listed fragment never came
   * from the cache (a hit contributes all its rows; streaming bypasses the cache), so it is never set yet.
   */
  cacheAgeMs?: number;
  /** Its share of the query's deadline, when the query had one and it started. */
  budgetMs?: number;
  /**
   * A streamed run (`run.rows()`) only, when not 0: how many of its rows had gone into the
   * streamed merge before it stopped (as `result.fragments[id].rowCount` says). Rows that
   * passed the merge reached the reader, although the fragment did not finish: one that
   * failed or was dropped left part of its rows in the stream, where an eager run's merge
   * would have had none of them (it treats such a fragment as an empty input).
   */
  rowsStreamed?: number;
  /** Milliseconds it ran (0 if it never started). */
  usedMs: number;
}

/** `result.completeness`: whether the answer holds every row, and which fragments fell short. */
export interface Completeness {
  /** No fragment's shortfall may have cost the answer rows. */
  complete: boolean;
  /** Only the fragments that did not contribute all their rows. */
  fragments: Record<string, FragmentCompleteness>;
}

/**
 * Why a fragment still pending when its run ended never ran: `cancelled` when every fragment
 * it depends on had succeeded (it was ready: only the stop — fail-fast, a deadline under
 * fail-fast — kept it from its turn); `skipped` when one of them had not (failed, dropped,
 * skipped, or itself stopped before it finished).
 */
export function whyNeverRan(prepared: PreparedPlan, table: StatusTable): (i: number) => 'skipped' | 'cancelled' {
  return (i) => (prepared.fragments[i]!.dependsOn.every((u) => table.state(u) === 'succeeded') ? 'cancelled' : 'skipped');
}

/**
 * Built from the run's status table once the query has finished, `endAt` ms after it started;
 * `streamed` when its rows went to `run.rows()` as they came (see `rowsStreamed`).
 */
export function buildCompleteness(prepared: PreparedPlan, table: StatusTable, endAt: number, streamed = false): Completeness {
  // The common case costs no pass over the fragments.
  if (table.allSucceededInFull()) return { complete: true, fragments: {} };
  const fragments: Record<string, FragmentCompleteness> = {};
  const neverRan = whyNeverRan(prepared, table);
  let complete = true;
  for (const f of prepared.fragments) {
    const i = f.index;
    const state = table.state(i);
    const short = table.reason(i);
    let status: FragmentCompleteness['status'];
    let reason: CompletenessReason;
    switch (state) {
      case 'succeeded':
        if (short !== 'limit-stopped' && short !== 'limit-satisfied' && short !== 'consumer-left') continue;
        status = 'succeeded';
        reason = short;
        break;
      case 'failed':
        status = 'failed';
        reason = short === 'deadline' ? 'deadline' : 'failed';
        break;
      case 'dropped':
        status = 'dropped';
        reason = 'deadline';
        break;
      case 'skipped':
        status = 'skipped';
        reason = 'skipped';
        break;
      case 'pending':
        status = reason = neverRan(i);
        break;
      default:
        status = 'cancelled';
        reason = 'cancelled';
    }
    const rowsMayBeMissing = reason !== 'limit-stopped' && reason !== 'limit-satisfied';
    if (rowsMayBeMissing) complete = false;
    const budgetMs = table.budgetMs(i);
    const rowsStreamed = streamed ? table.rowCount(i) : 0;
    const entry: FragmentCompleteness = {
      status,
      reason,
      rowsMayBeMissing,
      attempts: table.attempts(i),
      cached: table.cached(i),
      ...(budgetMs === undefined ? {} : { budgetMs: Math.max(0, Math.round(budgetMs)) }),
      usedMs: table.ranMs(i, endAt) ?? 0,
      ...(rowsStreamed > 0 ? { rowsStreamed } : {}),
    };
    // A fragment may be called `__proto__`: that one is defined, not assigned.
    if (f.id === '__proto__') Object.defineProperty(fragments, f.id, { value: entry, enumerable: true, writable: true, configurable: true });
    else fragments[f.id] = entry;
  }
  return { complete, fragments };
}
