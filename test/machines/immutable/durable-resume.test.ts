import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createExecutor, redisRunStore, sqliteRunStore, type Executor, type RunStore } from '../../../src/index.js';
import { A_ROWS, B_ROWS, gatedSource, twoFragmentPlan } from '../../durable/fixtures/sources.js';
import { describeRedis, dropKeys, REDIS_URL, uniqueNamespace } from '../../support/redis.js';
import { snapshotAudit } from '../../support/snapshot-audit.js';
import { eventually } from '../../support/servers.js';

/**
 * Issue 12 for durable runs: a run interrupted by `executor.close()` while its second fragment
 * runs (its first stored), then resumed by another executor (the stored fragment settles as
 * cached, the other runs). Both runs' snapshots and events, kept on arrival, are unchanged
 * after they end; each run's last snapshot counts what it reported (`events$` for the
 * cancelled one, the result for the resumed one).
 */
function interruptAndResume(store: () => RunStore): void {
  it('keeps every snapshot of the interrupted run and of its resumption', async () => {
    const audit = snapshotAudit();
    const source = gatedSource({ a: A_ROWS, b: B_ROWS });
    source.hold('b');
    const open: Executor[] = [];
    const executor = (): Executor => {
      const e = createExecutor({ sources: { db: source }, cache: false, runStore: store(), inspect: audit.inspect });
      open.push(e);
      return e;
    };
    try {
      const first = executor();
      const run = audit.watch(first.run(twoFragmentPlan, { runId: 'imm-durable' }));
      await source.running('b');
      expect(await eventually(async () => (await first.runs()).some((r) => r.runId === 'imm-durable' && r.stored === 1))).toBe(true);
      await first.close();
      const error = await run.result.then(() => new Error('not cancelled'), (e: unknown) => e as Error);
      expect(error).toMatchObject({ code: 'CANCELLED' });
      expect(audit.problems(run, error, ['db'])).toEqual([]);

      source.release('b');
      const resumed = audit.watch(await executor().resume('imm-durable'));
      const result = await resumed.result;
      expect(result.status).toBe('ok');
      expect(result.fragments.a).toMatchObject({ status: 'succeeded', cached: true });
      expect(source.calls).toEqual({ a: 1, b: 2 });
      // The oracle: an uninterrupted run of the same plan.
      const plain = createExecutor({ sources: { db: gatedSource({ a: A_ROWS, b: B_ROWS }) }, cache: false });
      open.push(plain);
      expect(result.rows).toEqual((await plain.execute(twoFragmentPlan)).rows);
      expect(audit.problems(resumed, result, ['db'])).toEqual([]);
    } finally {
      await Promise.all(open.map((e) => e.close()));
    }
  });
}

describe('immutable snapshots: durable runs, SQLite run store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-imm-durable-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  interruptAndResume(() => sqliteRunStore({ file: join(dir, 'runs.db') }));
});

describeRedis('immutable snapshots: durable runs, Redis run store', () => {
  const prefix = `${uniqueNamespace()}:runs:`;
  afterAll(() => dropKeys(prefix));
  interruptAndResume(() => redisRunStore({ url: REDIS_URL, prefix }));
});
