import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createExecutor, redisRunStore, sqliteRunStore, storedRunKey, type RunStore, type StoredFragment, type StoredRunState } from '../../src/index.js';
import { describeRedis, inspectClient, REDIS_URL, uniqueNamespace } from '../support/redis.js';
import { A_ROWS, B_ROWS, gatedSource, twoFragmentPlan } from './fixtures/sources.js';

/**
 * A process that stalled past its lease (another executor resumed the run meanwhile) must not
 * write into the run it lost: not a fragment, and above all not its end, which would remove
 * the run under the executor now running it. The same checks run against both stores.
 */
interface StoreKit {
  /** A store over the shared storage (each call opens a new client, as another process would). */
  open(): RunStore;
}

function leaseChecks(kit: () => StoreKit): void {
  const fragment: StoredFragment = { fragmentId: 'a', rowCount: 0, chunks: [], columns: '[]' };
  const stores: RunStore[] = [];
  const open = (): RunStore => {
    const store = kit().open();
    stores.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  async function storedRun(store: RunStore, runId: string, owner: string, now: number): Promise<void> {
    const run = { runId, queryId: 'q', principalId: undefined, state: 'running' as const, createdAt: now, updatedAt: now, fragments: 2, stored: 0, payload: Buffer.from([1]), snapshot: undefined };
    expect(await store.create(run, { owner, ttlMs: 300 }, now)).toBe(true);
  }

  it('putFragment and finish write only for the lease holder; a stale holder changes nothing', async () => {
    const store = open();
    const now = Date.now();
    await storedRun(store, 'r', 'stale', now);
    expect(await store.putFragment('r', fragment, undefined, now, 'stale')).toBe(true);
    // The lease ran out and another executor took the run over.
    expect(await store.lease('r', { owner: 'new', ttlMs: 60_000 }, now + 1000)).toBe(true);
    expect(await store.putFragment('r', { ...fragment, fragmentId: 'b' }, '{"stale":true}', now + 1100, 'stale')).toBe(false);
    expect(await store.finish('r', 'done', 0, now + 1200, 'stale')).toBe(false);
    expect(await store.finish('r', 'done', 60_000, now + 1200, 'stale')).toBe(false);
    const kept = await store.get('r', now + 1300);
    expect(kept).toMatchObject({ state: 'running', stored: 1, leaseOwner: 'new', snapshot: undefined });
    expect((await store.fragments('r')).map((f) => f.fragmentId)).toEqual(['a']);
    // The holder still writes, and its finish removes the run.
    expect(await store.putFragment('r', { ...fragment, fragmentId: 'b' }, undefined, now + 1400, 'new')).toBe(true);
    expect(await store.finish('r', 'done', 0, now + 1500, 'new')).toBe(true);
    expect(await store.get('r', now + 1500)).toBeUndefined();
    expect(await store.list(now + 1500)).toEqual([]);
    // A removed run takes no rows from anyone.
    expect(await store.putFragment('r', fragment, undefined, now + 1600, 'new')).toBe(false);
  });

  it('a finished run kept for listing takes no more writes, even from its last holder', async () => {
    const store = open();
    const now = Date.now();
    await storedRun(store, 'k', 'one', now);
    expect(await store.finish('k', 'done', 60_000, now, 'one')).toBe(true);
    expect(await store.putFragment('k', fragment, undefined, now + 1, 'one')).toBe(false);
    expect(await store.finish('k', 'failed', 0, now + 1, 'one')).toBe(false);
    expect(await store.list(now + 2)).toMatchObject([{ runId: 'k', state: 'done', stored: 0 }]);
  });

  it('an executor whose lease was taken over stops its copy with RUN_LEASED and leaves the stored run to the new holder', async () => {
    const source = gatedSource({ a: A_ROWS, b: B_ROWS });
    source.hold('b');
    // A long lease: no renewal happens during the test, so the refused write is what notices.
    const e = createExecutor({ sources: { db: source }, runStore: open(), runLeaseMs: 60_000 });
    try {
      const run = e.run(twoFragmentPlan, { runId: 'taken' });
      await source.running('b');
      const other = open();
      // Read at time 0: nothing stored counts as expired, whatever the clock says.
      for (let i = 0; i < 100 && (await other.get(storedRunKey('taken', undefined), 0))?.stored !== 1; i++) await new Promise((r) => setTimeout(r, 10));
      // Another executor takes the run over just after its lease ran out, as if this one had stalled past it.
      const expires = (await other.get(storedRunKey('taken', undefined), 0))!.leaseExpiresAt!;
      expect(await other.lease(storedRunKey('taken', undefined), { owner: 'other-executor', ttlMs: 60_000 }, expires + 1)).toBe(true);
      source.release('b');
      await expect(run.result).rejects.toMatchObject({ code: 'RUN_LEASED', message: expect.stringContaining('lost the lease on run "taken"') });
      // Fragment b's rows were not stored, and the run is still there for its new holder.
      expect(await other.get(storedRunKey('taken', undefined), 0)).toMatchObject({ state: 'running', stored: 1, leaseOwner: 'other-executor' });
      expect((await other.fragments(storedRunKey('taken', undefined))).map((f) => f.fragmentId)).toEqual(['a']);
    } finally {
      await e.close();
    }
  });
}

describe('a store written before writes named their owner', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-lease-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('still stores, finishes and resumes: owner is the last argument, and resolving nothing counts as written', async () => {
    const inner = sqliteRunStore({ file: join(dir, 'runs.db') });
    // The four-argument methods a custom store had: they ignore the owner and resolve nothing.
    const legacy: RunStore = {
      ...inner,
      putFragment: async (runId: string, fragment: StoredFragment, snapshot: string | undefined, now: number) => {
        await inner.putFragment(runId, fragment, snapshot, now, (await inner.get(runId, now))?.leaseOwner ?? '');
      },
      finish: async (runId: string, state: StoredRunState, keepMs: number, now: number) => {
        await inner.finish(runId, state, keepMs, now, (await inner.get(runId, now))?.leaseOwner ?? '');
      },
    };
    const source = gatedSource({ a: A_ROWS, b: B_ROWS });
    source.hold('b');
    const first = createExecutor({ sources: { db: source }, runStore: legacy });
    const run = first.run(twoFragmentPlan, { runId: 'legacy' });
    await source.running('b');
    for (let i = 0; i < 100 && (await inner.get(storedRunKey('legacy', undefined), 0))?.stored !== 1; i++) await new Promise((r) => setTimeout(r, 10));
    run.cancel();
    await run.result.catch(() => undefined);
    await first.close();
    const store = sqliteRunStore({ file: join(dir, 'runs.db') });
    const again = createExecutor({ sources: { db: gatedSource({ a: A_ROWS, b: B_ROWS }) }, runStore: store });
    try {
      const resumed = await again.resume('legacy');
      const result = await resumed.result;
      expect(result.status).toBe('ok');
      expect(result.fragments.a).toMatchObject({ cached: true });
      // Removed, not merely expired: read at time 0.
      expect(await store.get(storedRunKey('legacy', undefined), 0)).toBeUndefined();
    } finally {
      await again.close();
    }
  });
});

describe('sqliteRunStore: writes need the lease', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-lease-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  leaseChecks(() => ({ open: () => sqliteRunStore({ file: join(dir, 'runs.db') }) }));
});

describeRedis('redisRunStore: writes need the lease', () => {
  let prefix: string;
  beforeEach(() => {
    prefix = `${uniqueNamespace()}:runs:`;
  });
  afterEach(async () => {
    const client = inspectClient();
    try {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length > 0) await client.del(...keys);
    } finally {
      client.disconnect();
    }
  });
  leaseChecks(() => ({ open: () => redisRunStore({ url: REDIS_URL, prefix }) }));
});
