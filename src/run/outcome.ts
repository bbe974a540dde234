import { TributaryError } from '../errors.js';
import { publicError } from '../value-mask.js';
import { buildResult, type QueryResult } from './result.js';
import type { RunPort } from './run-port.js';
import { settleUnfinished } from './unsettled.js';

/** What the query actor's last snapshot says of the run (the parts `runOutcome` reads). */
interface FinalSnapshot {
  value: unknown;
  status: string;
  context: { failure?: { code: string; message: string } };
}

/**
 * How a run ended, from its port and its query actor's last snapshot: the result, the error
 * it failed with (a cancel's reason, else its first error), whether it was cancelled (the
 * result promise then rejects), and the `query.done` or `query.failed` event. @internal
 */
export function runOutcome(port: RunPort, snapshot: FinalSnapshot): { out: QueryResult; error: TributaryError | undefined; cancelled: boolean } {
  const prepared = port.prepared;
  // A stopped actor (`actor.stop()`) ended the run as a cancel.
  const stopped = snapshot.status === 'stopped';
  const failed = snapshot.value === 'failed' || snapshot.status === 'error' || stopped;
  const durationMs = port.at();
  const errors = port.mergeError ? [...port.errors, port.mergeError] : port.errors;
  const out = buildResult(prepared, port.table, { runId: port.runId, failed, rows: port.merged.rows, columns: port.merged.columns, errors, retries: port.events.retries, durationMs, streamed: port.streaming !== undefined });
  const cancelled = stopped || (failed && snapshot.context.failure?.code === 'CANCELLED');
  const error = !failed
    ? undefined
    : cancelled
      ? (port.stopReason ?? new TributaryError('CANCELLED', 'the query was cancelled'))
      : (errors[0] ?? new TributaryError('FRAGMENT_FAILED', snapshot.context.failure?.message ?? 'the query failed'));
  settleUnfinished(port, durationMs);
  if (port.events.wanted) {
    if (error) port.events.emit({ type: 'query.failed', queryId: prepared.id, runId: port.runId, at: durationMs, error: publicError(error, port.params), durationMs });
    else {
      const rowCount = port.streaming ? port.streaming.rows.count : out.rows.length;
      port.events.emit({ type: 'query.done', queryId: prepared.id, runId: port.runId, at: durationMs, status: out.status === 'partial' ? 'partial' : 'ok', rowCount, durationMs });
    }
  }
  return { out, error, cancelled };
}
