import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEvent } from '../../src/cli/progress-bar.js';
import { FragmentError } from '../../src/errors.js';
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

  it('counts in the singular when there is one: 1 fragment, 1 level, 1 row, 1 attempt', () => {
    const at = { queryId: 'q', runId: 'run-1', at: 1 };
    const frag = { ...at, fragmentId: 'f', source: 's', level: 0 };
    expect(describeEvent({ type: 'query.started', ...at, fragments: 1, levels: 1 })).toBe('query q started: 1 fragment in 1 level');
    expect(describeEvent({ type: 'query.started', ...at, fragments: 2, levels: 2 })).toBe('query q started: 2 fragments in 2 levels');
    expect(describeEvent({ type: 'fragment.succeeded', ...frag, rowCount: 1, attempts: 1, calls: 1, cached: false, startedAt: 0, durationMs: 2 })).toBe('f (s) succeeded: 1 row in 2.0 ms');
    expect(describeEvent({ type: 'fragment.cached', ...frag, rowCount: 0 })).toBe('f (s) served from the cache: 0 rows');
    expect(describeEvent({ type: 'query.done', ...at, status: 'ok', rowCount: 1, durationMs: 3 })).toBe('query ok: 1 row in 3.0 ms');
    const error = new FragmentError('FRAGMENT_FAILED', 'no', { fragmentId: 'f', source: 's', attempt: 1 });
    expect(describeEvent({ type: 'fragment.failed', ...frag, attempts: 1, calls: 1, rowCount: 0, startedAt: 0, durationMs: 1, error })).toBe('f (s) failed after 1 attempt: FRAGMENT_FAILED: no');
  });

  it('says when a limit moves and when a call is hedged, one line each', () => {
    const base = { queryId: 'q', runId: 'run-1', at: 1, fragmentId: 'orders', source: 'shop', level: 1 };
    expect(describeEvent({ type: 'source.limit.changed', ...base, previous: 4, limit: 8 })).toBe('source shop: concurrency limit 4 → 8');
    expect(describeEvent({ type: 'fragment.hedged', ...base, attempt: 1, batch: { index: 0, count: 1 }, afterMs: 30 })).toBe('orders (shop) hedged: a second call after 30 ms without an answer');
  });
});
