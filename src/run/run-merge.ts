import { TributaryError } from '../errors.js';
import type { Row } from '../data/row.js';
import { evaluateMerge } from '../merge/index.js';
import type { RunPort } from './run-port.js';

/**
 * A run's merge (`QueryPort.merge`): the plan's merge tree over every fragment's rows (none
 * for one that did not succeed), kept in `port.merged`; returns the merged row count. A
 * streamed run has nothing left to merge: its rows went to `run.rows()` as they came. A
 * failure is kept as the run's merge error and thrown. @internal
 */
export function mergeRun(port: RunPort): number {
  if (port.streaming) {
    port.merged = { rows: [], columns: port.streaming.rows.columns };
    return port.streaming.rows.count;
  }
  const inputs = new Map<string, Row[]>();
  for (const f of port.prepared.fragments) inputs.set(f.id, port.rows[f.index] ?? []);
  try {
    port.merged = evaluateMerge(port.prepared.plan.mergeTree, inputs, { params: port.params });
  } catch (error) {
    port.mergeError = error instanceof TributaryError ? error : new TributaryError('MERGE_FAILED', `merge failed: ${(error as Error).message}`, { cause: error });
    throw port.mergeError;
  }
  return port.merged.rows.length;
}
