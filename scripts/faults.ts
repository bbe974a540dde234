/**
 * `npm run faults`: runs the fault-injection suite (test/faults) and the fuzz suite
 * (test/fuzz) on real servers, then prints the reliability figures as a Markdown table.
 *
 * Both suites append one JSON line per scenario (faults) or per property (fuzz) to the file
 * named by TRIBUTARY_FAULTS_REPORT; this script owns that file for the run, then sums it up.
 * Exit status: vitest's, or 1 if any scenario did not survive or any fuzz case crashed,
 * hung or mismatched.
 *
 *   npm run faults               # both suites
 *   npm run faults -- --no-fuzz  # the fault suite only
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface FaultLine {
  suite: 'faults';
  scenario: string;
  server: string;
  outcome: 'recovered' | 'partial' | 'failed';
  survived: boolean;
  rowsLost: number;
  rowsDuplicated: number;
  statementsLeftRunning: number;
  retriesOnNonRetryable: number;
  hung?: boolean;
  problems?: string[];
}

interface FuzzLine {
  suite: string;
  tried: number;
  crashed: number;
  hung: number;
  mismatched: number;
}

const root = fileURLToPath(new URL('../', import.meta.url));
const withFuzz = !process.argv.includes('--no-fuzz');
const dirs = ['test/faults', ...(withFuzz ? ['test/fuzz'] : [])].filter((d) => existsSync(join(root, d)));
const missing = ['test/faults', ...(withFuzz ? ['test/fuzz'] : [])].filter((d) => !dirs.includes(d));

const ownDir = process.env.TRIBUTARY_FAULTS_REPORT ? undefined : mkdtempSync(join(tmpdir(), 'tributary-faults-'));
const reportFile = process.env.TRIBUTARY_FAULTS_REPORT ?? join(ownDir!, 'report.jsonl');

/** Runs vitest on `dirs` with the report file in its environment; its exit code. */
function runVitest(): Promise<number> {
  const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [vitest, 'run', ...dirs], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, TRIBUTARY_FAULTS_REPORT: reportFile },
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

function readLines(): { faults: FaultLine[]; fuzz: FuzzLine[] } {
  const faults: FaultLine[] = [];
  const fuzz: FuzzLine[] = [];
  if (!existsSync(reportFile)) return { faults, fuzz };
  for (const line of readFileSync(reportFile, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue; // a line torn by a crashed worker
    }
    if (typeof parsed !== 'object' || parsed === null) continue;
    const record = parsed as Record<string, unknown>;
    if (record.suite === 'faults') faults.push(record as unknown as FaultLine);
    else if (typeof record.tried === 'number') fuzz.push(record as unknown as FuzzLine);
  }
  return { faults, fuzz };
}

const sum = <T>(items: readonly T[], pick: (item: T) => number | undefined): number => items.reduce((total, item) => total + (pick(item) ?? 0), 0);

function table(faults: FaultLine[], fuzz: FuzzLine[]): string {
  const survived = faults.filter((f) => f.survived).length;
  const rows: [string, string][] = [
    ['Fault scenarios tried / survived', `${faults.length} / ${survived}`],
    ['Fuzz cases tried / crashed', fuzz.length === 0 ? 'not run' : `${sum(fuzz, (f) => f.tried)} / ${sum(fuzz, (f) => f.crashed)}`],
    ['Fuzz cases hung / mismatched', fuzz.length === 0 ? 'not run' : `${sum(fuzz, (f) => f.hung)} / ${sum(fuzz, (f) => f.mismatched)}`],
    ['Rows lost', String(sum(faults, (f) => f.rowsLost))],
    ['Rows duplicated', String(sum(faults, (f) => f.rowsDuplicated))],
    ['Statements left running on servers', String(sum(faults, (f) => f.statementsLeftRunning))],
    ['Retries spent on non-retryable errors', String(sum(faults, (f) => f.retriesOnNonRetryable))],
  ];
  return ['| Figure | Value |', '| --- | ---: |', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
}

function byServer(faults: FaultLine[]): string {
  const servers = [...new Set(faults.map((f) => f.server))];
  const lines = servers.map((server) => {
    const of = faults.filter((f) => f.server === server);
    const count = (o: FaultLine['outcome']) => of.filter((f) => f.outcome === o).length;
    return `| ${server} | ${of.length} | ${of.filter((f) => f.survived).length} | ${count('recovered')} | ${count('partial')} | ${count('failed')} |`;
  });
  return ['| Server | Tried | Survived | Recovered | Partial | Failed (named) |', '| --- | ---: | ---: | ---: | ---: | ---: |', ...lines].join('\n');
}

const code = await runVitest();
const { faults, fuzz } = readLines();
const lost = faults.filter((f) => !f.survived);
const fuzzBad = sum(fuzz, (f) => f.crashed + f.hung + f.mismatched);

console.log('\n## tributary reliability figures\n');
console.log(table(faults, fuzz));
if (faults.length > 0) console.log(`\n${byServer(faults)}`);
if (missing.length > 0) console.log(`\n(not found, not run: ${missing.join(', ')})`);
if (lost.length > 0) {
  console.log('\nScenarios that did not survive:');
  for (const f of lost) console.log(`- ${f.scenario}${f.hung ? ' (hung)' : ''}: ${(f.problems ?? []).join('; ')}`);
}
if (ownDir) rmSync(ownDir, { recursive: true, force: true });
process.exitCode = code !== 0 ? code : lost.length > 0 || fuzzBad > 0 ? 1 : 0;
