import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { PgStatus } from './pg.js';

/** One line of the results table: a ratio (or a reason it was not measured) against its target. */
export interface BenchRow {
  /** The label: a1, a2, b, c, d, e, f. */
  id: string;
  name: string;
  /** The measured figure as printed, e.g. `0.42 RT/fragment` or `skipped: …`. */
  measured: string;
  /** The goal as printed, e.g. `≤ 0.1 RT/fragment`; `—` for figures reported without one. */
  target: string;
  /** `undefined` when there is no target or nothing was measured. */
  met: boolean | undefined;
}

/** What one benchmark group hands back: its rows and the absolute figures behind them. */
export interface GroupResult {
  rows: BenchRow[];
  /** Markdown lines with the raw timings, sizes and settings, for the details section. */
  details: string[];
}

/** What every group gets from bench/run.ts. */
export interface BenchContext {
  pg: PgStatus;
  /** One loopback `SELECT 1` round trip, in ms; undefined without PostgreSQL. */
  rttMs: number | undefined;
  log(message: string): void;
}

export interface Machine {
  cpu: string;
  cores: number;
  memory: string;
  node: string;
  date: string;
  /** The 1-minute load average: other processes compete for the same cores. */
  load: string;
}

export function machine(): Machine {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    date: new Date().toISOString(),
    load: os.loadavg()[0]!.toFixed(2),
  };
}

/** A ratio with two significant digits past the point where it matters. */
export function fmt(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(digits);
}

export function ms(value: number): string {
  if (value < 1) return `${(value * 1000).toFixed(1)} µs`;
  if (value < 1000) return `${value.toFixed(value < 10 ? 2 : 1)} ms`;
  return `${(value / 1000).toFixed(2)} s`;
}

export function bytes(value: number): string {
  return `${(value / 2 ** 20).toFixed(1)} MiB`;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|');

export function markdownTable(rows: readonly BenchRow[]): string {
  const lines = ['| # | benchmark | measured | target | met |', '|---|---|---|---|---|'];
  for (const r of rows) {
    const met = r.met === undefined ? '—' : r.met ? 'yes' : 'no';
    lines.push(`| ${r.id} | ${cell(r.name)} | ${cell(r.measured)} | ${cell(r.target)} | ${met} |`);
  }
  return lines.join('\n');
}

/** Everything above this heading in RESULTS.md is rewritten by each run; it and what follows are kept. */
export const FINDINGS_HEADING = '## Findings';

/**
 * Writes RESULTS.md: the generated part (machine, table, details, profile), then the
 * hand-written findings carried over from the previous file, so re-running the bench
 * refreshes the figures without losing the analysis.
 */
export function writeResults(path: string, generated: string): void {
  const previous = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const at = previous.indexOf(`\n${FINDINGS_HEADING}`);
  const findings = at >= 0 ? previous.slice(at + 1) : `${FINDINGS_HEADING}\n\n(none yet)\n`;
  writeFileSync(path, `${generated.trimEnd()}\n\n${findings}`);
}
