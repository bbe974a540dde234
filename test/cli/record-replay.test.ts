import { chmodSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { expectedDemoRows, runCli, tempDir, writeDemo } from './support.js';

const tmp = tempDir();
let plan: string;
let sources: string;

beforeAll(() => ({ plan, sources } = writeDemo(tmp)));
afterAll(() => tmp.remove());

describe.concurrent('tributary run --record, tributary replay', { timeout: 60_000 }, () => {
  it('records a run, and replays it without its sources to the same rows', async ({ expect }) => {
    const file = join(tmp.dir, 'demo-recording.json');
    const ran = await runCli(['run', plan, '-s', sources, '-p', 'segment=BUILDING', '-f', 'json', '-q', '--record', file]);
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout)).toEqual(expectedDemoRows());
    const recording = JSON.parse(readFileSync(file, 'utf8')) as { format: string; calls: { fragmentId: string; outcome: string }[] };
    expect(recording.format).toBe('tributary-recording');
    expect(recording.calls.map((c) => c.outcome).every((o) => o === 'rows')).toBe(true);

    // No --sources: the recording is all the replay needs.
    const replayed = await runCli(['replay', file, '-f', 'json']);
    expect(replayed.code).toBe(0);
    expect(replayed.stdout).toBe(ran.stdout);
    expect(replayed.stderr).toContain('query ok');
  });

  it('a recording holds rows: readable by you only, over an existing file that others could read too', async ({ expect }) => {
    const file = join(tmp.dir, 'shared-recording.json');
    writeFileSync(file, 'old\n', { mode: 0o644 });
    chmodSync(file, 0o644);
    const ran = await runCli(['run', plan, '-s', sources, '-p', 'segment=BUILDING', '-f', 'json', '-q', '--record', file]);
    expect(ran.code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect((JSON.parse(readFileSync(file, 'utf8')) as { format: string }).format).toBe('tributary-recording');
    // Nothing left behind beside it.
    expect(readdirSync(tmp.dir).filter((f) => f.startsWith('shared-recording.json.'))).toEqual([]);
  });

  it('replays a partial failure to the same rows, errors and exit code', async ({ expect }) => {
    const p = tmp.file('partial-recorded.json', {
      fragments: [
        { id: 'good', source: 'shop', query: { table: 'orders', columns: ['id'] } },
        { id: 'broken', source: 'crm', query: { sql: 'SELECT * FROM no_such_table' } },
      ],
      merge: { op: 'union', inputs: ['good', 'broken'] },
    });
    const file = join(tmp.dir, 'partial-recording.json');
    const ran = await runCli(['run', p, '-s', sources, '-f', 'ndjson', '--partial', '-q', '--record', file]);
    expect(ran.code).toBe(3);
    const replayed = await runCli(['replay', file, '-f', 'ndjson', '-q']);
    expect(replayed.code).toBe(3);
    expect(replayed.stdout).toBe(ran.stdout);
    expect(replayed.stderr).toBe(ran.stderr);
    expect(replayed.stderr).toContain('fragment "broken" on source "crm" failed');
  });

  it('exits 2 on a file that is not a recording, or is missing', async ({ expect }) => {
    const bad = tmp.file('not-a-recording.json', { format: 'something else' });
    const out = await runCli(['replay', bad]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('invalid recording');
    expect(out.stderr).toContain('format');
    const missing = join(tmp.dir, 'gone.json');
    rmSync(missing, { force: true });
    const none = await runCli(['replay', missing]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('cannot read recording');
  });
});
