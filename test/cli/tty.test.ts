import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, cliEnv, expectedDemoRows, tempDir, writeDemo } from './support.js';

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const tmp = tempDir();
let plan: string;
let sources: string;

beforeAll(() => ({ plan, sources } = writeDemo(tmp)));
afterAll(() => tmp.remove());

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The progress bar's frames in a terminal's output, escapes stripped. */
function barFrames(output: string): string[] {
  // eslint-disable-next-line no-control-regex -- stripping terminal escapes
  return output.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '').split(/\r|\n/).filter((l) => l.includes(' fragments: '));
}

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
    const frames = barFrames(output);
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.at(-1)).toMatch(/ 100% \| 2\/2 fragments: 2 ok \(0 cached\), 0 failed, 0 skipped \| level 2\/2 \| running: - \| retries: 0 \| \d+s$/);
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

  it('counts failed, cached and skipped fragments apart, with the level and the time so far', async () => {
    // "again" repeats "orders" a level later, so it is served from the cache; "after" waits
    // for "broken", which fails, so it is skipped; --partial keeps the rest.
    const p = tmp.file('mixed-plan.json', {
      fragments: [
        { id: 'orders', source: 'shop', query: { table: 'orders' } },
        { id: 'broken', source: 'crm', query: { sql: 'SELECT * FROM no_such_table' } },
        { id: 'again', source: 'shop', dependsOn: ['orders'], query: { table: 'orders' } },
        { id: 'after', source: 'shop', dependsOn: ['broken'], query: { table: 'orders' } },
      ],
      merge: { op: 'union', inputs: ['orders', 'again', 'after'] },
    });
    const cmd = [process.execPath, BIN, 'run', p, '--sources', sources, '--partial', '-f', 'csv'].map(quote).join(' ');
    const { code, output } = await underPty(cmd);
    expect(code).toBe(3);
    const last = barFrames(output).at(-1);
    expect(last).toMatch(/ 100% \| 4\/4 fragments: 2 ok \(1 cached\), 1 failed, 1 skipped \| level 2\/2 \| running: - \| retries: 0 \| \d+s$/);
  });

  it('shows a source name with control characters escaped: it cannot set the window title', async () => {
    const name = 'crm\u001b]0;PWNED\u0007';
    const s = tmp.file('title-sources.json', { [name]: { kind: 'sqlite', file: 'crm.db', readonly: true, thread: true } });
    // Long enough, and on a thread, so that the bar draws frames while it runs.
    const p = tmp.file('title-plan.json', {
      fragments: [{ id: 'count', source: name, query: { sql: 'WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 3000000) SELECT count(*) AS n FROM c' } }],
    });
    const cmd = [process.execPath, BIN, 'run', p, '--sources', s, '-f', 'csv'].map(quote).join(' ');
    const { code, output } = await underPty(cmd);
    expect(code).toBe(0);
    expect(output).toContain('running: crm?]0;PWNED?');
    expect(output).not.toContain('\u001b]0;');
  });
});
