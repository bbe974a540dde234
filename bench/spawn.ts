import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface ChildOutcome<T> {
  /** The JSON of each `RESULT` line the child printed, in order. */
  results: T[];
  /** Wall time (ms since spawn) at which each `RESULT` line arrived. */
  arrivals: number[];
  elapsedMs: number;
  /** True when the child was killed for passing `capMs`. */
  timedOut: boolean;
  stderr: string;
}

/**
 * Runs one task of bench/child.ts in a fresh Node process (its own heap, GC and JIT
 * state), with extra Node flags. A child that passes `capMs` is killed: a run of
 * tributary never yields to timers, so only the parent can stop it.
 */
export function runChild<T>(
  task: string,
  args: readonly string[],
  options: { nodeFlags?: string[]; capMs?: number; onStderrLine?: (line: string) => void } = {},
): Promise<ChildOutcome<T>> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [...(options.nodeFlags ?? []), '--import', 'tsx', join(ROOT, 'bench/child.ts'), task, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const results: T[] = [];
    const arrivals: number[] = [];
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      let nl: number;
      while ((nl = stdout.indexOf('\n')) >= 0) {
        const line = stdout.slice(0, nl);
        stdout = stdout.slice(nl + 1);
        if (line.startsWith('RESULT ')) {
          results.push(JSON.parse(line.slice(7)) as T);
          arrivals.push(performance.now() - t0);
        }
      }
    });
    let pending = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      const onLine = options.onStderrLine;
      if (!onLine) return;
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        onLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    });
    const timer = options.capMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.capMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const elapsedMs = performance.now() - t0;
      if (!timedOut && code !== 0) {
        reject(new Error(`bench child "${task}" exited with ${code ?? signal}: ${stderr.split('\n').filter((l) => !l.includes('nodedir')).slice(-15).join('\n')}`));
        return;
      }
      resolve({ results, arrivals, elapsedMs, timedOut, stderr });
    });
  });
}

/** In a child: hands one result to the parent. */
export function report(value: unknown): void {
  process.stdout.write(`RESULT ${JSON.stringify(value)}\n`);
}
