import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, cliEnv, tempDir, writeDemo } from './support.js';

/** `tributary run` whose reader of stderr goes away: progress is lost, never the rows or the exit code. */

const tmp = tempDir();
let plan: string;
let sources: string;

beforeAll(() => {
  ({ sources } = writeDemo(tmp));
  plan = tmp.file('many.json', {
    fragments: [{ id: 'f', source: 'crm', query: { sql: 'WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 50000) SELECT n FROM c' } }],
  });
});
afterAll(() => tmp.remove());

/** Runs the command and closes its stderr pipe as soon as the first progress line arrives. */
function runClosingStderr(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').once('data', (d: string) => {
      stderr += d;
      child.stderr.destroy();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('tributary run with its stderr closed early (2>&1 >rows.csv | head -1)', { timeout: 60_000 }, () => {
  it('still prints every row and exits with the query\'s code', async () => {
    const out = await runClosingStderr(['run', plan, '--sources', sources, '--format', 'csv']);
    expect(out.stderr).toContain('started');
    expect(out.code).toBe(0);
    const lines = out.stdout.split('\r\n');
    expect(lines.length).toBe(50_002);
    expect(lines.at(-2)).toBe('50000');
  });
});
