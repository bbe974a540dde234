import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEvent } from '../../src/cli/progress-bar.js';
import { expectedDemoRows, runCli, tempDir, writeDemo } from './support.js';

describe('the CLI and adaptive concurrency', { timeout: 60_000 }, () => {
  const tmp = tempDir();
  let files: { plan: string; sources: string };
  beforeAll(() => (files = writeDemo(tmp)));
  afterAll(() => tmp.remove());

  it('run accepts --adaptive and prints the same rows', async () => {
    const out = await runCli(['run', files.plan, '--sources', files.sources, '--param', 'segment=BUILDING', '--adaptive', '--format', 'json']);
    expect(out.stderr).not.toMatch(/error/i);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(expectedDemoRows());
  });

  it('says when a limit moves and when a call is hedged, one line each', () => {
    const base = { queryId: 'q', runId: 'run-1', at: 1, fragmentId: 'orders', source: 'shop', level: 1 };
    expect(describeEvent({ type: 'source.limit.changed', ...base, previous: 4, limit: 8 })).toBe('source shop: concurrency limit 4 → 8');
    expect(describeEvent({ type: 'fragment.hedged', ...base, attempt: 1, batch: { index: 0, count: 1 }, afterMs: 30 })).toBe('orders (shop) hedged: a second call after 30 ms without an answer');
  });
});
