import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createExecutor, createVirtualClock, redisRunStore, sqliteRunStore, storedRunKey, type Executor, type RunStore } from '../../src/index.js';
import { describeRedis, dropKeys, REDIS_URL, uniqueNamespace } from '../support/redis.js';
import { A_ROWS, B_ROWS, gatedSource, twoFragmentPlan } from './fixtures/sources.js';

/** Turns of the event loop until `check` holds (no time passes on the virtual clock). */
async function within(check: () => Promise<boolean>, turns = 200): Promise<boolean> {
  for (let i = 0; i < turns; i++) {
    if (await check()) return true;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return false;
}

/**
 * A durable run keeps its times on the executor's clock: on a virtual clock, its lease is
 * renewed, and a finished run kept for listing expires, as virtual time passes — not as the
 * machine's clock does.
 */
describe('durable runs on the executor\'s clock', () => {
  let dir: string;
  const open: Executor[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-durable-clock-'));
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((e) => e.close()));
    rmSync(dir, { recursive: true, force: true });
  });
  const executor = (store: RunStore, clock: ReturnType<typeof createVirtualClock>, source = gatedSource({ a: A_ROWS, b: B_ROWS })): Executor => {
    const e = createExecutor({ sources: { db: source }, cache: false, runStore: store, runLeaseMs: 30_000, clock, timeoutMs: 3_600_000 });
    open.push(e);
    return e;
  };

  it('stores the lease on the virtual clock and renews it every third of runLeaseMs of virtual time', async () => {
    const clock = createVirtualClock();
    const store = sqliteRunStore({ file: join(dir, 'runs.db') });
    const source = gatedSource({ a: A_ROWS, b: B_ROWS });
    source.hold('b');
    const e = executor(store, clock, source);
    const run = e.run(twoFragmentPlan, { runId: 'virtual-lease' });
    await source.running('b');
    const first = (await store.get(storedRunKey('virtual-lease', undefined), 0))!;
    expect(first.leaseExpiresAt! - first.createdAt).toBe(30_000);
    // Ten virtual seconds: the renewal falls due, and the lease runs 30 s from then.
    await clock.advanceAsync(10_000);
    expect(await within(async () => (await store.get(storedRunKey('virtual-lease', undefined), 0))!.leaseExpiresAt! - first.createdAt === 40_000)).toBe(true);
    await clock.advanceAsync(10_000);
    expect(await within(async () => (await store.get(storedRunKey('virtual-lease', undefined), 0))!.leaseExpiresAt! - first.createdAt === 50_000)).toBe(true);
    source.release('b');
    expect((await run.result).status).toBe('ok');
  });

  it('lists a finished run for the store\'s ttlMs of virtual time, then no more', async () => {
    const clock = createVirtualClock();
    const e = executor(sqliteRunStore({ file: join(dir, 'runs.db'), ttlMs: 60_000 }), clock);
    expect((await e.run(twoFragmentPlan, { runId: 'virtual-kept' }).result).status).toBe('ok');
    expect(await e.runs()).toMatchObject([{ runId: 'virtual-kept', state: 'done' }]);
    await clock.advanceAsync(59_000);
    expect(await e.runs()).toHaveLength(1);
    await clock.advanceAsync(1_001);
    expect(await e.runs()).toEqual([]);
  });
});

describeRedis('redisRunStore on the executor\'s clock', () => {
  const prefix = `${uniqueNamespace()}:runs:`;
  afterEach(() => dropKeys(prefix));

  it('lists a finished run for the store\'s ttlMs of virtual time, then no more, and takes its id again', async () => {
    const clock = createVirtualClock();
    const e = createExecutor({ sources: { db: gatedSource({ a: A_ROWS, b: B_ROWS }) }, cache: false, runStore: redisRunStore({ url: REDIS_URL, prefix, ttlMs: 60_000 }), clock });
    try {
      expect((await e.run(twoFragmentPlan, { runId: 'virtual-kept' }).result).status).toBe('ok');
      expect(await e.runs()).toMatchObject([{ runId: 'virtual-kept', state: 'done' }]);
      await clock.advanceAsync(59_000);
      expect(await e.runs()).toHaveLength(1);
      await clock.advanceAsync(1_001);
      expect(await e.runs()).toEqual([]);
      expect((await e.run(twoFragmentPlan, { runId: 'virtual-kept' }).result).status).toBe('ok');
      expect(await e.runs()).toMatchObject([{ runId: 'virtual-kept', state: 'done' }]);
    } finally {
      await e.close();
    }
  });
});
