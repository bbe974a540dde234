import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createExecutor, createVirtualClock, httpSource, memorySource, sqliteSource, TributaryError, type VirtualClock } from '../../src/index.js';
import { loadSourcesFile } from '../../src/cli/sources-file.js';
import { describeWithServer, pgUrl, requireServer } from '../support/servers.js';

const planOf = (n: number, query: (i: number) => unknown) => {
  const ids = Array.from({ length: n }, (_, i) => `f${i}`);
  return { fragments: ids.map((id, i) => ({ id, source: 's', query: query(i) })), merge: { op: 'union' as const, inputs: ids }, errorPolicy: 'partial' as const };
};

async function drive(clock: VirtualClock, pending: Promise<unknown>): Promise<void> {
  let done = false;
  void pending.finally(() => (done = true));
  while (!done) await clock.advanceAsync(5);
}

/** A fetch that answers `[{ n }]` after `ms` on the virtual clock; counts requests. */
function slowFetch(clock: VirtualClock, ms: number): typeof fetch & { calls: number } {
  const f = Object.assign(
    (input: string | URL | Request): Promise<Response> => {
      f.calls++;
      const n = new URL(input instanceof Request ? input.url : input).searchParams.get('n');
      return new Promise((resolve) => clock.setTimeout(() => resolve(Response.json([{ n: Number(n) }])), ms));
    },
    { calls: 0 },
  );
  return f as typeof fetch & { calls: number };
}

describe('maxQueued / maxQueueMs as connector options', () => {
  it('httpSource({ maxQueueMs }) reaches the lane: a call that waits longer is shed', async () => {
    const clock = createVirtualClock();
    const fetch = slowFetch(clock, 100);
    const s = httpSource({ baseUrl: 'http://example.test', fetch, maxConcurrency: 1, maxQueueMs: 150 });
    expect(s).toMatchObject({ maxQueueMs: 150 });
    const executor = createExecutor({ sources: { s }, clock, cache: false, retry: { attempts: 1 } });
    try {
      const run = executor.run(planOf(4, (n) => ({ path: '/rows', searchParams: { n } })));
      await drive(clock, run.result);
      const result = await run.result;
      // f0 runs 0–100, f1 100–200; f2 and f3 would wait 200 ms or more: shed at 150.
      expect(fetch.calls).toBe(2);
      expect(result.rows).toHaveLength(2);
      expect(result.errors).toHaveLength(2);
      for (const error of result.errors) {
        expect(error).toMatchObject({ code: 'SOURCE_UNAVAILABLE', source: 's', retryable: true });
        expect(error.message).toMatch(/waited 150 ms for a slot \(maxQueueMs\)/);
      }
    } finally {
      await executor.close();
    }
  });

  it('memorySource({ maxQueued }) is set on the source, where the lane reads it', () => {
    const s = memorySource({ tables: { t: [] }, maxQueued: 0, maxQueueMs: 10 });
    expect(s).toMatchObject({ maxQueued: 0, maxQueueMs: 10 });
    expect(memorySource({ tables: { t: [] } })).not.toHaveProperty('maxQueued');
  });

  it('a bad value is CONFIG_INVALID at its path', () => {
    let error: unknown;
    try {
      sqliteSource({ file: ':memory:', maxQueued: -1 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TributaryError);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', issues: [expect.objectContaining({ path: 'options.maxQueued' })] });
  });

  describe('in a sources file', () => {
    let dir: string | undefined;
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('accepts them for every kind, and names a bad one at its JSON path', async () => {
      dir = await mkdtemp(join(tmpdir(), 'tributary-lane-'));
      const good = join(dir, 'good.json');
      await writeFile(
        good,
        JSON.stringify({
          ref: { kind: 'memory', tables: { t: [] }, maxQueued: 3 },
          crm: { kind: 'sqlite', file: ':memory:', maxQueueMs: 250 },
          api: { kind: 'http', baseUrl: 'http://example.test', maxQueued: 0, maxQueueMs: 1000 },
        }),
      );
      const loaded = await loadSourcesFile(good, {});
      try {
        expect(loaded.sources.ref).toMatchObject({ maxQueued: 3 });
        expect(loaded.sources.crm).toMatchObject({ maxQueueMs: 250 });
        expect(loaded.sources.api).toMatchObject({ maxQueued: 0, maxQueueMs: 1000 });
      } finally {
        await loaded.close();
      }
      const bad = join(dir, 'bad.json');
      await writeFile(bad, JSON.stringify({ ref: { kind: 'memory', tables: {}, maxQueueMs: 'soon' } }));
      await expect(loadSourcesFile(bad, {})).rejects.toMatchObject({ issues: [expect.objectContaining({ path: 'ref.maxQueueMs' })] });
    });
  });
});

const pg = await requireServer('postgres');

describeWithServer(pg, 'postgresSource({ maxQueued }) from a sources file, on the real server', () => {
  it('sheds the calls past maxQueued with SOURCE_UNAVAILABLE, the others answer', { timeout: 20_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-lane-pg-'));
    const file = join(dir, 'sources.json');
    await writeFile(file, JSON.stringify({ s: { kind: 'postgres', url: pgUrl(), maxConcurrency: 1, maxQueued: 1 } }));
    const loaded = await loadSourcesFile(file, {});
    const executor = createExecutor({ sources: loaded.sources, cache: false, retry: { attempts: 1 }, circuitBreaker: false });
    try {
      // One runs, one waits; the other two find the queue full the moment they start.
      const result = await executor.execute(planOf(4, (n) => ({ sql: 'SELECT $1::int AS n, pg_sleep(0.3) IS NULL AS slept', params: [n] })));
      expect(result.rows).toHaveLength(2);
      expect(result.errors).toHaveLength(2);
      for (const error of result.errors) {
        expect(error).toMatchObject({ code: 'SOURCE_UNAVAILABLE', source: 's' });
        expect(error.message).toMatch(/1 call already waits for it \(maxQueued\)/);
      }
    } finally {
      await executor.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
