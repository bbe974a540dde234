import { whyNeverRan } from './completeness.js';
import type { RunPort } from './run-port.js';

/**
 * Gives every fragment the run left unsettled (a cancel, fail-fast, a failing deadline, the
 * executor closing) its terminal event, just before `query.failed`: `fragment.skipped` for
 * one that could never have run (something upstream did not succeed), `fragment.cancelled`
 * for one that was running, queued, or ready but kept from its turn. The same split as
 * `result.fragments` (see `whyNeverRan`); the run's progress counts them as well, so its last
 * value adds up to `total`. O(fragments), once per run. @internal
 */
export function settleUnfinished(port: RunPort, endAt: number): void {
  const { prepared, table, events } = port;
  const neverRan = whyNeverRan(prepared, table);
  const wanted = events.wanted;
  let skipped = 0;
  let cancelled = 0;
  for (const f of prepared.fragments) {
    const state = table.state(f.index);
    if (state !== 'pending' && state !== 'queued' && state !== 'running') continue;
    const base = { queryId: prepared.id, runId: port.runId, at: endAt, fragmentId: f.id, source: f.source, level: f.level };
    if (state === 'pending' && neverRan(f.index) === 'skipped') {
      skipped++;
      if (!wanted) continue;
      const because = f.dependsOn.find((u) => table.state(u) !== 'succeeded');
      events.emit({ type: 'fragment.skipped', ...base, because: prepared.fragments[because!]!.id });
    } else {
      cancelled++;
      if (!wanted) continue;
      events.emit({
        type: 'fragment.cancelled',
        ...base,
        attempts: table.attempts(f.index),
        calls: table.calls(f.index),
        rowCount: table.rowCount(f.index),
        startedAt: table.startedAt(f.index),
        durationMs: table.ranMs(f.index, endAt) ?? 0,
      });
    }
  }
  events.unsettled(skipped, cancelled);
}
