import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createExecutor, readRunSnapshot, redisRunStore, sqliteRunStore, type RunStore } from '../../../src/index.js';
import { A_ROWS, gatedSource } from '../../durable/fixtures/sources.js';
import { describeRedis, dropKeys, REDIS_URL, uniqueNamespace } from '../../support/redis.js';

/**
 * A durable run stores each finished fragment's rows with the query machine's persisted
 * snapshot. That snapshot must tell the truth about what is stored: the one written with the
 * k-th fragment counts k fragments succeeded — the machine as it was once it had taken that
 * fragment's settle — never fragments whose rows are not stored yet (written after it, or
 * never, if the process dies in between), nor a state the run reached later.
 */
function storedSnapshots(store: () => RunStore): void {
  it('the snapshot stored with each fragment counts exactly the fragments stored so far', async () => {
    const writes: { fragmentId: string; succeeded: unknown; value: unknown }[] = [];
    const inner = store();
    const recording: RunStore = {
      ...inner,
      putFragment: (runId, fragment, snapshot, now, owner) => {
        const s = readRunSnapshot(snapshot) as { value?: unknown; context?: { counts?: { succeeded?: unknown } } } | undefined;
        writes.push({ fragmentId: fragment.fragmentId, succeeded: s?.context?.counts?.succeeded, value: s?.value });
        return inner.putFragment(runId, fragment, snapshot, now, owner);
      },
    };
    const source = gatedSource({ a: A_ROWS, b: A_ROWS, c: A_ROWS, d: A_ROWS });
    source.hold('d');
    const executor = createExecutor({ sources: { db: source }, cache: false, runStore: recording });
    try {
      // Three fragments that answer at once, in the same turn, and one held.
      const run = executor.run(
        {
          id: 'imm-stored-snapshot',
          fragments: ['a', 'b', 'c', 'd'].map((t) => ({ id: t, source: 'db', query: { table: t } })),
          merge: { op: 'union', inputs: ['a', 'b', 'c', 'd'] },
        },
        { runId: `stored-${Math.random()}` },
      );
      await source.running('d');
      for (let i = 0; i < 50 && writes.length < 3; i++) await new Promise<void>((resolve) => setTimeout(resolve, 5));
      source.release('d');
      expect((await run.result).status).toBe('ok');
      expect(writes.map((w) => w.fragmentId)).toEqual(['a', 'b', 'c', 'd']);
      expect(writes.map((w) => [w.fragmentId, w.succeeded])).toEqual([
        ['a', 1],
        ['b', 2],
        ['c', 3],
        ['d', 4],
      ]);
      // As the machine was once it had counted each: the last one finished the level, whose
      // step went on to `merging` (the merge runs after it).
      expect(writes.map((w) => w.value)).toEqual(['executing-level-0', 'executing-level-0', 'executing-level-0', 'merging']);
    } finally {
      await executor.close();
    }
  });

  it('also when the fragments are served from the in-process cache', async () => {
    const writes: [string, unknown][] = [];
    const inner = store();
    const recording: RunStore = {
      ...inner,
      putFragment: (runId, fragment, snapshot, now, owner) => {
        const s = readRunSnapshot(snapshot) as { context?: { counts?: { succeeded?: unknown; cached?: unknown } } } | undefined;
        writes.push([fragment.fragmentId, s?.context?.counts?.succeeded]);
        return inner.putFragment(runId, fragment, snapshot, now, owner);
      },
    };
    const source = gatedSource({ a: A_ROWS, b: A_ROWS, c: A_ROWS });
    const executor = createExecutor({ sources: { db: source }, runStore: recording });
    const plan = {
      id: 'imm-stored-cached',
      fragments: ['a', 'b', 'c'].map((t) => ({ id: t, source: 'db', query: { table: t } })),
      merge: { op: 'union' as const, inputs: ['a', 'b', 'c'] },
    };
    try {
      expect((await executor.execute(plan)).stats.cacheHits).toBe(0);
      const result = await executor.execute(plan, { runId: `stored-cached-${Math.random()}` });
      expect(result.stats.cacheHits).toBe(3);
      expect(source.calls).toEqual({ a: 1, b: 1, c: 1 });
      // Settled together in one step, they would all be stored with a snapshot counting three.
      expect(writes).toEqual([
        ['a', 1],
        ['b', 2],
        ['c', 3],
      ]);
    } finally {
      await executor.close();
    }
  });
}

describe('the snapshot a durable run stores with each fragment: SQLite run store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-imm-stored-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  storedSnapshots(() => sqliteRunStore({ file: join(dir, 'runs.db') }));
});

describeRedis('the snapshot a durable run stores with each fragment: Redis run store', () => {
  const prefix = `${uniqueNamespace()}:runs:`;
  afterAll(() => dropKeys(prefix));
  storedSnapshots(() => redisRunStore({ url: REDIS_URL, prefix }));
});
