import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, redisRunStore, sqliteRunStore, type RunStore } from '../../src/index.js';
import { describeRedis, dropKeys, REDIS_URL, uniqueNamespace } from '../support/redis.js';
import { eventually } from '../support/servers.js';
import { A_ROWS, B_ROWS, gatedSource, twoFragmentPlan } from './fixtures/sources.js';

/**
 * `executor.close()` while `resume()` is still reading the store, at every point of that read:
 * the resume rejects `CLOSED` (not a "connection is closed" store error), and the run is left
 * as it was — interrupted, its lease free — for the next executor to resume.
 */
function closeDuringResume(store: () => RunStore): void {
  it('close() during resume(): CLOSED, and the run stays interrupted with no lease held', async () => {
    const source = gatedSource({ a: A_ROWS, b: B_ROWS });
    source.hold('b');
    const first = createExecutor({ sources: { db: source }, runStore: store() });
    const run = first.run(twoFragmentPlan, { runId: 'closing' });
    await source.running('b');
    expect(await eventually(async () => (await first.runs()).some((r) => r.stored === 1))).toBe(true);
    await first.close();
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });

    for (let turns = 0; turns < 12; turns++) {
      const e = createExecutor({ sources: { db: source }, runStore: store() });
      const resuming = e.resume('closing');
      for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
      const closed = e.close();
      const outcome = await resuming.then(
        async (resumed) => resumed.result.then(
          () => 'finished',
          (error: unknown) => (error as { code?: string }).code,
        ),
        (error: unknown) => (error as { code?: string }).code,
      );
      await closed;
      // Refused as closed, or started and then cancelled by the close: never a store error.
      expect([turns, outcome]).toEqual([turns, expect.stringMatching(/^(CLOSED|CANCELLED)$/)]);
      const probe = createExecutor({ sources: { db: source }, runStore: store() });
      expect(await probe.runs()).toMatchObject([{ runId: 'closing', state: 'interrupted', leaseOwner: undefined, stored: 1 }]);
      await probe.close();
    }
    source.release('b');
    const last = createExecutor({ sources: { db: source }, runStore: store() });
    expect((await (await last.resume('closing')).result).status).toBe('ok');
    await last.close();
    expect(source.calls.a).toBe(1);
  });
}

describe('closing the executor during resume(): SQLite run store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-close-'));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  closeDuringResume(() => sqliteRunStore({ file: join(dir, 'runs.db') }));
});

describeRedis('closing the executor during resume(): Redis run store', () => {
  const prefix = `${uniqueNamespace()}:runs:`;
  afterEach(() => dropKeys(prefix));
  closeDuringResume(() => redisRunStore({ url: REDIS_URL, prefix }));
});
