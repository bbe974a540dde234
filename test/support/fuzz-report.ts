import { appendFileSync } from 'node:fs';

/**
 * The fuzz suites' figures. When `TRIBUTARY_FAULTS_REPORT` names a file, each suite appends
 * one JSON line `{ "suite", "tried", "crashed", "hung", "mismatched" }` to it, which
 * `npm run faults` reads. `crashed` counts exceptions that are not a `TributaryError`.
 */
export interface FuzzTally {
  suite: string;
  tried: number;
  crashed: number;
  hung: number;
  mismatched: number;
}

export function createTally(suite: string): FuzzTally {
  return { suite, tried: 0, crashed: 0, hung: 0, mismatched: 0 };
}

/** Appends the tally as one JSON line, if the report file is configured. */
export function reportTally(tally: FuzzTally): void {
  const file = process.env.TRIBUTARY_FAULTS_REPORT;
  if (!file) return;
  const { suite, tried, crashed, hung, mismatched } = tally;
  appendFileSync(file, `${JSON.stringify({ suite, tried, crashed, hung, mismatched })}\n`);
}
