import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, cliEnv, demoPlan, demoSources, expectedDemoRows, tempDir, writeCrmDb } from './support.js';

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const tmp = tempDir();
let plan: string;
let sources: string;

beforeAll(() => {
  writeCrmDb(join(tmp.dir, 'crm.db'));
  plan = tmp.file('plan.json', demoPlan);
  sources = tmp.file('sources.json', demoSources());
});
afterAll(() => tmp.remove());

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs a shell command under a pseudo-terminal (util-linux `script`), returning all it wrote there. */
function underPty(command: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, env: { ...cliEnv(), COLUMNS: '120', LINES: '40' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe.skipIf(!hasScript)('tributary run on a terminal', { timeout: 60_000 }, () => {
  it('shows a live progress bar that reaches 100%, then the rows', async () => {
    const cmd = [process.execPath, BIN, 'run', plan, '--sources', sources, '--param', 'segment=BUILDING'].map(quote).join(' ');
    const { code, output } = await underPty(cmd);
    expect(code).toBe(0);
    // The bar redraws in place; its last frame is the finished one.
    // eslint-disable-next-line no-control-regex -- stripping terminal escapes
    const frames = output.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '').split(/\r|\n/).filter((l) => l.includes('fragments |'));
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.at(-1)).toMatch(/ 100% \| 2\/2 fragments \| running: - \| retries: 0$/);
    expect(output).not.toContain('query ok'); // plain progress lines are for non-terminals
    expect(output).toMatch(/id \| name\s+\| orders \| total/);
  });

  it('keeps progress off stdout: piped rows stay clean while the bar goes to the terminal', async () => {
    const out = join(tmp.dir, 'rows.ndjson');
    const cmd = `${[process.execPath, BIN, 'run', plan, '-s', sources, '-p', 'segment=BUILDING', '-f', 'ndjson'].map(quote).join(' ')} > ${quote(out)}`;
    const { code, output } = await underPty(cmd);
    expect(code).toBe(0);
    expect(output).toContain('100%');
    const rows = readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { id: number });
    expect(rows.map((r) => r.id)).toEqual(expectedDemoRows().map((r) => r.id));
  });
});
