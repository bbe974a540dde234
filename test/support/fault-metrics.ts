import { appendFileSync } from 'node:fs';
import type { ExecutionEvent } from '../../src/progress/events.js';
import type { Row } from '../../src/data/row.js';

/**
 * What the fault suite measures and how it reports it: rows lost and duplicated against
 * the baseline, retries spent on non-retryable errors, unhandled rejections in the
 * process, and the JSON line each scenario appends for `npm run faults`.
 */

export type Outcome = 'recovered' | 'partial' | 'failed';
export type ScenarioServer = 'postgres' | 'mysql' | 'http' | 'sqlite' | 'engine';

/** What the scenario learned, one JSON line in the report. */
export interface ScenarioReport {
  suite: 'faults';
  scenario: string;
  server: ScenarioServer;
  outcome: Outcome | 'hung';
  survived: boolean;
  rowsLost: number;
  rowsDuplicated: number;
  statementsLeftRunning: number;
  retriesOnNonRetryable: number;
  retries: number;
  durationMs: number;
  /** Why it did not survive; empty when it did. */
  problems: string[];
}

// A listener of our own (vitest has one too) so each file can assert the count is zero in
// afterAll: with forks, a test file is a process, and this counts that file's rejections.
let unhandled = 0;
const unhandledReasons: string[] = [];
process.on('unhandledRejection', (reason) => {
  unhandled++;
  unhandledReasons.push(reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason));
});

/** Unhandled rejections seen by this process since the suite began; check it in afterAll. */
export function unhandledRejections(): { count: number; reasons: string[] } {
  return { count: unhandled, reasons: [...unhandledReasons] };
}

/**
 * A row's identity for multiset comparison: its JSON with sorted keys. Null columns are
 * left out: a union fills the columns of its other inputs with null, and in a partial
 * result the failed input's columns are simply absent.
 */
function rowKey(row: Row): string {
  return JSON.stringify(
    Object.keys(row)
      .filter((k) => row[k] !== null && row[k] !== undefined)
      .sort()
      .map((k) => [k, row[k]]),
  );
}

/** Rows missing from `got` and rows in `got` beyond the baseline's count of them. */
export function compareRows(expected: readonly Row[], got: readonly Row[]): { lost: number; duplicated: number } {
  const counts = new Map<string, number>();
  for (const row of expected) counts.set(rowKey(row), (counts.get(rowKey(row)) ?? 0) + 1);
  let duplicated = 0;
  for (const row of got) {
    const key = rowKey(row);
    const left = counts.get(key) ?? 0;
    if (left > 0) counts.set(key, left - 1);
    else duplicated++;
  }
  let lost = 0;
  for (const n of counts.values()) lost += n;
  return { lost, duplicated };
}

/** `fragment.retrying` events that followed an attempt failure classified as not retryable. */
export function retriesOnNonRetryable(events: readonly ExecutionEvent[]): number {
  const lastFailure = new Map<string, boolean>();
  let count = 0;
  for (const event of events) {
    if (event.type === 'fragment.attempt.failed') lastFailure.set(`${event.fragmentId}#${event.attempt}`, event.retryable);
    if (event.type === 'fragment.retrying' && lastFailure.get(`${event.fragmentId}#${event.attempt - 1}`) === false) count++;
  }
  return count;
}

/** Appends the scenario's line to the file named by TRIBUTARY_FAULTS_REPORT, if any. */
export function recordScenario(report: ScenarioReport): void {
  const file = process.env.TRIBUTARY_FAULTS_REPORT;
  if (file === undefined || file === '') return;
  // A hang is a failure that never said so; the report keeps the three outcomes and a flag.
  const line = { ...report, outcome: report.outcome === 'hung' ? 'failed' : report.outcome, hung: report.outcome === 'hung', durationMs: Math.round(report.durationMs) };
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}
