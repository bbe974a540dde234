import { columnsOf, withColumns } from '../data/columns.js';
import type { Row } from '../data/row.js';
import type { AttemptOutput } from './attempt.js';

/** Rows and the effort it took. */
export interface FragmentOutcome {
  rows: Row[];
  /** Rows the sources returned (more than `rows.length` when streamed rows were not kept). */
  count: number;
  attempts: number;
  calls: number;
  /** A satisfied limit cut its rows short (see `FragmentSucceededEvent.limited`). */
  limited?: 'stopped' | 'satisfied';
  /** Its source's latency as this load saw it: the slowest answering call (see `AttemptOutput.callMs`). */
  callMs?: number;
  /** Its rows' bytes as counted against its byte bound (see `CallOutput.bytes`); undefined when some call counted none. */
  bytes?: number | undefined;
  /** Its batches were counted against the bounds and the quota as they came (`BatchTally`). */
  tallied?: boolean;
}

/** A lone call's output as the fragment's outcome. */
export function outcomeOf(out: AttemptOutput): FragmentOutcome {
  // A hedged call's extra calls count as calls too (they ran on the source).
  const calls = out.hedges === undefined ? out.attempts : out.attempts + out.hedges;
  const { rows, count, attempts, callMs, bytes } = out;
  return out.stopped ? { rows, count, attempts, calls, limited: 'stopped', callMs, bytes } : { rows, count, attempts, calls, callMs, bytes };
}

/** The batches of one fragment, in batch order: rows concatenated, effort added up. */
export function combine(parts: AttemptOutput[]): FragmentOutcome {
  let rows = parts[0]!.rows;
  if (parts.length > 1) {
    rows = parts.flatMap((p) => p.rows);
    // Every batch is the same statement: the first one's column names are the fragment's.
    const names = columnsOf(parts[0]!.rows);
    if (names !== undefined) withColumns(rows, names);
  }
  let count = 0;
  let attempts = 0;
  let calls = 0;
  let stopped = false;
  let callMs = -1;
  let bytes: number | undefined = 0;
  for (const p of parts) {
    bytes = bytes === undefined || p.bytes === undefined ? undefined : bytes + p.bytes;
    callMs = Math.max(callMs, p.callMs);
    count += p.count;
    attempts = Math.max(attempts, p.attempts);
    calls += p.attempts + (p.hedges ?? 0);
    if (p.stopped) stopped = true;
  }
  return stopped ? { rows, count, attempts, calls, limited: 'stopped', callMs, bytes } : { rows, count, attempts, calls, callMs, bytes };
}
