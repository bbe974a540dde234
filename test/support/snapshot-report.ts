import type { ExecutionEvent, QueryResult } from '../../src/index.js';

/**
 * What a run reported of its fragments, to hold a query actor's last snapshot against (see
 * snapshot-audit.ts): from `result.fragments`, or, for a run whose result rejected, from each
 * fragment's terminal event on `events$`.
 */
export interface Report {
  total: number;
  succeeded: number;
  failed: number;
  skipped: number;
  cached: number;
  bySource: Map<string, { succeeded: number; failed: number; cached: number }>;
}

/** The counts `result.fragments` reports (a dropped fragment counts with the skipped). */
export function fromResult(result: QueryResult): Report {
  return tally(Object.values(result.fragments).map((f) => ({ source: f.source, status: f.status, cached: f.cached })));
}

/** For a run whose result rejected: each fragment's terminal event on `events$`. */
export function fromEvents(events: readonly ExecutionEvent[]): Report | undefined {
  const started = events.find((e) => e.type === 'query.started');
  if (!started || started.type !== 'query.started') return undefined;
  const last = new Map<string, { source: string; status: string; cached: boolean }>();
  for (const e of events) {
    if (e.type === 'fragment.succeeded') last.set(e.fragmentId, { source: e.source, status: 'succeeded', cached: e.cached === true });
    else if (e.type === 'fragment.failed') last.set(e.fragmentId, { source: e.source, status: 'failed', cached: false });
    else if (e.type === 'fragment.skipped') last.set(e.fragmentId, { source: e.source, status: 'skipped', cached: false });
    else if (e.type === 'fragment.dropped') last.set(e.fragmentId, { source: e.source, status: 'dropped', cached: false });
    else if (e.type === 'fragment.cancelled') last.set(e.fragmentId, { source: e.source, status: 'cancelled', cached: false });
  }
  const report = tally([...last.values()]);
  report.total = started.fragments;
  return report;
}

function tally(list: readonly { source: string; status: string; cached: boolean }[]): Report {
  const r: Report = { total: list.length, succeeded: 0, failed: 0, skipped: 0, cached: 0, bySource: new Map() };
  for (const f of list) {
    const s = r.bySource.get(f.source) ?? { succeeded: 0, failed: 0, cached: 0 };
    r.bySource.set(f.source, s);
    if (f.status === 'succeeded') {
      r.succeeded++;
      s.succeeded++;
      if (f.cached) {
        r.cached++;
        s.cached++;
      }
    } else if (f.status === 'failed') {
      r.failed++;
      s.failed++;
    } else if (f.status === 'skipped' || f.status === 'dropped') r.skipped++;
  }
  return r;
}
