import { TributaryError } from '../errors.js';
import type { Row } from '../data/row.js';
import { evaluateMerge } from '../merge/index.js';
import type { RunPort } from './run-port.js';

/**
 * A run's merge (`QueryPort.merge`): the plan's merge tree over every fragment's rows (none
 * for one that did not succeed), kept in `port.merged`; returns the merged row count. A
 * streamed run has nothing left to merge: its rows went to `run.rows()` as they came (once
 * the leaves that ran whole have gone through too: then a promise). A failure is kept as the
 * run's merge error and thrown (or rejected). @internal
 */
export function mergeRun(port: RunPort): number | Promise<number> {
  const streaming = port.streaming;
  if (streaming) {
    const failed = (error: unknown): never => {
      port.mergeError = asMergeError(error);
      throw port.mergeError;
    };
    const streamed = (): number => {
      try {
        streaming.rows.verify();
      } catch (error) {
        failed(error);
      }
      port.merged = { rows: [], columns: streaming.rows.columns };
      return streaming.rows.count;
    };
    if (!streaming.pending) return streamed();
    // Leaves that ran whole (see RunStreaming.streamOf) are still on their way to the consumer.
    return streaming.drain().then(streamed, failed);
  }
  const inputs = new Map<string, Row[]>();
  for (const f of port.prepared.fragments) inputs.set(f.id, port.rows[f.index] ?? []);
  try {
    port.merged = evaluateMerge(port.prepared.plan.mergeTree, inputs, { params: port.params, limits: port.prepared.resultLimits });
  } catch (error) {
    port.mergeError = asMergeError(error);
    throw port.mergeError;
  }
  return port.merged.rows.length;
}

function asMergeError(error: unknown): TributaryError {
  return error instanceof TributaryError ? error : new TributaryError('MERGE_FAILED', `merge failed: ${(error as Error).message}`, { cause: error });
}
