import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, postgresSource, type Executor, type Progress } from '../../src/index.js';
import { flakyBatch, type FlakyBatch } from '../support/flaky-batch.js';
import { describeWithServer, pgAdmin, pgUrl, requireServer, type Admin } from '../support/servers.js';

const pgCheck = await requireServer('postgres');

// README ("In the Stately inspector"): a call starting takes no machine step, so the snapshot's
// `queued` / `running` are those its step computed, while `run.progress$` moves with every
// `fragment.started`; at each step the settled counts agree, and progress$'s `running` lies
// between the snapshot's `running` and `running + queued`.
describeWithServer(pgCheck, 'the snapshot’s counts and run.progress$, on a real PostgreSQL', () => {
  let pg: Admin;
  let executor: Executor;
  let flaky: FlakyBatch;

  beforeAll(async () => {
    pg = await pgAdmin();
    flaky = await flakyBatch(pg, 'snapcounts');
    executor = createExecutor({ sources: { keys: flaky.keys, pg: postgresSource({ url: pgUrl() }) }, cache: false, retry: { attempts: 3, initialDelayMs: 1, jitter: 'none' } });
  });
  afterAll(async () => {
    await executor?.close();
    await flaky?.drop();
    await pg?.close();
  });

  it('every snapshot counts what progress$ last said; between steps only progress$ sees calls start', async () => {
    const plan = flaky.plan();
    plan.fragments.push({ id: 'other', source: 'pg', query: { sql: 'SELECT 1 AS one FROM pg_sleep(0.05)', params: [] } });
    const run = executor.run(plan);
    let latest: Progress | undefined;
    const startedBetweenSteps: number[] = [];
    let steps = 0;
    const mismatches: string[] = [];
    run.progress$.subscribe((p) => (latest = p));
    run.events$.subscribe((e) => {
      // The actor has not stepped for this start: its snapshot still says what it said before.
      if (e.type === 'fragment.started' && e.attempt === 1) startedBetweenSteps.push(run.actor.getSnapshot().context.counts.running - (latest?.running ?? 0));
    });
    run.actor.subscribe((s) => {
      steps++;
      const c = s.context.counts;
      const p = latest;
      if (p === undefined) return;
      // Settled fragments agree at every step. A fragment dispatched in this step counts `queued`
      // in the snapshot though its call may have started within the step (progress$ `running`).
      const settled = (x: { succeeded: number; failed: number; skipped: number; cached: number }): string => `${x.succeeded}/${x.failed}/${x.skipped}/${x.cached}`;
      if (settled(c) !== settled(p) || c.running > p.running || p.running > c.running + c.queued) {
        mismatches.push(`${String(s.value)}: snapshot ${JSON.stringify(c)} progress$ ${JSON.stringify(p)}`);
      }
    });
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.stats.retries).toBe(1);
    expect(steps).toBeGreaterThan(2);
    expect(mismatches).toEqual([]);
    // Before the first start after a step, progress$ already counts it; the snapshot does not yet.
    expect(startedBetweenSteps.every((d) => d <= 0)).toBe(true);
    expect(startedBetweenSteps.some((d) => d < 0)).toBe(true);
    expect(run.actor.getSnapshot().context.counts).toMatchObject({ running: 0, queued: 0, succeeded: 3 });
  });
});
