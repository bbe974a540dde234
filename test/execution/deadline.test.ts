import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { analyze, createExecutor, createVirtualClock, type ExecutionEvent, type Row, type SourceExecutor, type VirtualClock } from '../../src/index.js';

/**
 * A source on the virtual clock: each call takes `ms` of virtual time (per query, or from
 * `script`, by call number), then answers its rows or fails as told. Every call's signal and
 * budget are kept.
 */
function timed(clock: VirtualClock, script: (call: number, query: { ms: number; rows?: Row[] }) => { ms: number; fail?: boolean; hang?: boolean }) {
  const signals: AbortSignal[] = [];
  const budgets: (number | undefined)[] = [];
  const source: SourceExecutor<{ ms: number; rows?: Row[] }> = {
    kind: 'timed',
    querySchema: z.strictObject({ ms: z.number(), rows: z.array(z.record(z.string(), z.unknown())).optional() }) as never,
    execute(query, ctx) {
      const n = signals.length + 1;
      signals.push(ctx.signal);
      budgets.push(ctx.budgetMs);
      const step = script(n, query);
      if (step.hang) return new Promise(() => undefined);
      return new Promise<Row[]>((resolve, reject) => {
        clock.setTimeout(() => {
          if (step.fail) reject(Object.assign(new Error(`call ${n} failed`), { retryable: true }));
          else resolve((query.rows ?? [{ n }]) as Row[]);
        }, step.ms);
      });
    },
  };
  return { source, signals, budgets };
}

const asQueried = (_n: number, q: { ms: number }) => ({ ms: q.ms });

describe('budget arithmetic on the virtual clock', () => {
  it('does not start a retry that could not finish within the budget', async () => {
    const clock = createVirtualClock();
    // Call 1 (a warm-up) succeeds in 300 ms: the source's expected attempt time. Later calls fail after 650 ms.
    const s = timed(clock, (n) => (n === 1 ? { ms: 300 } : { ms: 650, fail: true }));
    const executor = createExecutor({ sources: { s: s.source }, retry: { attempts: 3, initialDelayMs: 100, factor: 1, jitter: 'none' }, timeoutMs: 5_000, cache: false, clock });
    try {
      const warm = executor.run({ fragments: [{ id: 'f', source: 's', query: { ms: 0 } }] });
      await clock.advanceAsync(300);
      expect((await warm.result).status).toBe('ok');

      // At 650 ms, 350 ms are left: a 100 ms delay plus a 300 ms attempt does not fit.
      const t0 = clock.now();
      const events: ExecutionEvent[] = [];
      const run = executor.run({ fragments: [{ id: 'f', source: 's', query: { ms: 0 } }] }, { deadlineMs: 1_000 });
      run.events$.subscribe((e) => events.push(e));
      await clock.advanceAsync(650);
      const result = await run.result;
      expect(clock.now() - t0).toBe(650);
      expect(result.status).toBe('failed');
      expect(result.errors[0]!.message).toContain('call 2 failed');
      expect(s.signals).toHaveLength(2);
      expect(events.some((e) => e.type === 'fragment.retrying')).toBe(false);
      expect(result.fragments.f!.budgetMs).toBe(1_000);

      // The same failure with 450 ms left: the retry fits, and is made.
      const control = executor.run({ fragments: [{ id: 'f', source: 's', query: { ms: 0 } }] }, { deadlineMs: 1_100 });
      await clock.advanceAsync(760);
      expect(s.signals).toHaveLength(4);
      await clock.advanceAsync(400);
      expect((await control.result).status).toBe('failed');
    } finally {
      await executor.close();
    }
  });

  it('shares the time left over the chain of dependents, by the plan’s shape until latencies are known', async () => {
    const clock = createVirtualClock();
    const up = timed(clock, asQueried);
    const mid = timed(clock, asQueried);
    const low = timed(clock, asQueried);
    const executor = createExecutor({ sources: { up: up.source, mid: mid.source, low: low.source }, cache: false, clock });
    const chain = {
      fragments: [
        { id: 'a', source: 'up', query: { ms: 0 } },
        { id: 'b', source: 'mid', query: { ms: 100 }, dependsOn: ['a'] },
        { id: 'c', source: 'low', query: { ms: 100 }, dependsOn: ['b'] },
      ],
      merge: 'c',
    };
    try {
      // Nothing known: a gets a third of 900 ms (two fragments below it), b half of what is left.
      const first = executor.run(chain, { deadlineMs: 900 });
      await clock.advanceAsync(200);
      const r1 = await first.result;
      expect(r1.status).toBe('ok');
      expect([up.budgets[0], mid.budgets[0], low.budgets[0]]).toEqual([300, 450, 800]);
      expect(r1.fragments.a!.budgetMs).toBe(300);

      // Now b and c are known to take ~100 ms each: a keeps 900 − 200 ms.
      const second = executor.run(chain, { deadlineMs: 900 });
      await clock.advanceAsync(200);
      expect((await second.result).status).toBe('ok');
      expect(up.budgets[1]).toBe(700);
      expect(mid.budgets[1]).toBe(800);
    } finally {
      await executor.close();
    }
  });

  it('ends a fragment’s attempts at its budget: an optional one is dropped there, before the deadline', async () => {
    const clock = createVirtualClock();
    const s = timed(clock, () => ({ ms: 0, hang: true }));
    const ok = timed(clock, asQueried);
    const executor = createExecutor({ sources: { s: s.source, ok: ok.source }, cache: false, clock, timeoutMs: 10_000 });
    try {
      const run = executor.run(
        {
          errorPolicy: 'fail-fast',
          fragments: [
            { id: 'slow', source: 's', query: { ms: 0 }, optional: true },
            { id: 'after', source: 'ok', query: { ms: 0 }, dependsOn: ['slow'] },
            { id: 'fast', source: 'ok', query: { ms: 10, rows: [{ x: 1 }] } },
          ],
          merge: { op: 'union', inputs: ['fast', 'slow', 'after'] },
        },
        { deadlineMs: 1_000 },
      );
      await clock.advanceAsync(500);
      const result = await run.result;
      // Half of the deadline: 'after' still needs its share.
      expect(clock.now()).toBe(500);
      expect(s.budgets).toEqual([500]);
      expect(s.signals[0]!.aborted).toBe(true);
      expect(result.status).toBe('partial');
      expect(result.rows).toEqual([{ x: 1 }]);
      expect(result.fragments.slow!.status).toBe('dropped');
      expect(result.fragments.after!.status).toBe('skipped');
      expect(result.completeness.fragments.slow).toMatchObject({ status: 'dropped', reason: 'deadline', rowsMayBeMissing: true, budgetMs: 500, usedMs: 500 });
    } finally {
      await executor.close();
    }
  });
});

describe('the query deadline on the virtual clock', () => {
  const plan = (slowOptional: boolean, errorPolicy: 'fail-fast' | 'partial' = 'fail-fast') => ({
    errorPolicy,
    fragments: [
      { id: 'fast', source: 'ok', query: { ms: 50, rows: [{ id: 1 }, { id: 2 }] } },
      { id: 'slow', source: 'hangs', query: { ms: 0 }, ...(slowOptional ? { optional: true } : {}) },
      // Ready once 'fast' is done, but its level waits for 'slow': not started at the deadline.
      { id: 'late', source: 'ok', query: { ms: 10, rows: [{ id: 9 }] }, dependsOn: ['fast'], optional: true },
      { id: 'later', source: 'ok', query: { ms: 10, rows: [{ id: 10 }] }, dependsOn: ['late'] },
    ],
    merge: { op: 'union', inputs: ['fast', 'slow', 'late', 'later'] },
  });

  const setup = () => {
    const clock = createVirtualClock();
    const ok = timed(clock, asQueried);
    const hangs = timed(clock, () => ({ ms: 0, hang: true }));
    const executor = createExecutor({ sources: { ok: ok.source, hangs: hangs.source }, cache: false, clock });
    return { clock, ok, hangs, executor };
  };

  it('drops optional fragments still running or not started, skips their dependents, and answers partial at the deadline', async () => {
    const { clock, ok, hangs, executor } = setup();
    try {
      const run = executor.run(plan(true), { deadlineMs: 400 });
      const events: ExecutionEvent[] = [];
      run.events$.subscribe((e) => events.push(e));
      let settled = false;
      void run.result.then(() => (settled = true));
      await clock.advanceAsync(399);
      expect(settled).toBe(false);
      // Snapshots stay as they were emitted: the deadline makes new ones.
      const before = run.actor.getSnapshot();
      const frozen = structuredClone(before.context);
      await clock.advanceAsync(1);
      const result = await run.result;
      expect(clock.now()).toBe(400);
      expect(result.status).toBe('partial');
      // The merge saw the dropped and skipped fragments as empty inputs.
      expect(result.rows).toEqual([{ id: 1 }, { id: 2 }]);
      expect(result.errors).toEqual([]);
      expect(hangs.signals[0]!.aborted).toBe(true);
      expect(before.context).toEqual(frozen);
      expect(run.actor.getSnapshot().context.counts).toMatchObject({ succeeded: 1, skipped: 3, failed: 0, running: 0, queued: 0 });
      // 'late' never reached its source.
      expect(ok.signals).toHaveLength(1);
      expect(result.fragments.late).toMatchObject({ status: 'dropped', attempts: 0, startedAt: undefined });
      expect(result.fragments.later!.status).toBe('skipped');
      expect(result.completeness).toEqual({
        complete: false,
        fragments: {
          slow: { status: 'dropped', reason: 'deadline', rowsMayBeMissing: true, attempts: 1, cached: false, budgetMs: 400, usedMs: 400 },
          late: { status: 'dropped', reason: 'deadline', rowsMayBeMissing: true, attempts: 0, cached: false, usedMs: 0 },
          later: { status: 'skipped', reason: 'skipped', rowsMayBeMissing: true, attempts: 0, cached: false, usedMs: 0 },
        },
      });
      expect(events.filter((e) => e.type === 'fragment.dropped').map((e) => e.fragmentId).sort()).toEqual(['late', 'slow']);
      expect(events.at(-1)).toMatchObject({ type: 'query.done', status: 'partial' });
    } finally {
      await executor.close();
    }
  });

  it('under schedule "eager" runs what is ready and drops only what is still running at the deadline', async () => {
    const { clock, executor } = setup();
    try {
      const run = executor.run({ ...plan(true), schedule: 'eager' }, { deadlineMs: 400 });
      await clock.advanceAsync(400);
      const result = await run.result;
      expect(result.status).toBe('partial');
      expect(result.rows).toEqual([{ id: 1 }, { id: 2 }, { id: 9 }, { id: 10 }]);
      expect(Object.keys(result.completeness.fragments)).toEqual(['slow']);
    } finally {
      await executor.close();
    }
  });

  it('ends a streamed run at the deadline with the rows that came', async () => {
    const { clock, executor } = setup();
    try {
      const run = executor.run(plan(true), { deadlineMs: 400 });
      const stream = run.rows();
      const rows: Row[] = [];
      const drained = (async () => {
        for await (const batch of stream) rows.push(...batch);
      })();
      await clock.advanceAsync(400);
      await drained;
      expect(rows).toEqual([{ id: 1 }, { id: 2 }]);
      const result = await run.result;
      expect(result.status).toBe('partial');
      expect(result.completeness.fragments.slow).toMatchObject({ status: 'dropped', reason: 'deadline' });
    } finally {
      await executor.close();
    }
  });

  it('fails the query with TIMEOUT at the deadline when a required fragment cannot make it', async () => {
    const { clock, hangs, executor } = setup();
    try {
      const run = executor.run(plan(false), { deadlineMs: 400 });
      await clock.advanceAsync(400);
      const result = await run.result;
      expect(clock.now()).toBe(400);
      expect(result.status).toBe('failed');
      expect(result.errors[0]).toMatchObject({ code: 'TIMEOUT', fragmentId: 'slow' });
      expect(hangs.signals[0]!.aborted).toBe(true);
      expect(run.actor.getSnapshot().context.failure).toMatchObject({ code: 'TIMEOUT' });
    } finally {
      await executor.close();
    }
  });

  it('under errorPolicy "partial" fails the required fragment with TIMEOUT and answers with the rest', async () => {
    const { clock, executor } = setup();
    try {
      const run = executor.run(plan(false, 'partial'), { deadlineMs: 400 });
      await clock.advanceAsync(400);
      const result = await run.result;
      expect(result.status).toBe('partial');
      expect(result.rows).toEqual([{ id: 1 }, { id: 2 }]);
      expect(result.errors.map((e) => e.code)).toEqual(['TIMEOUT']);
      expect(result.completeness.fragments.slow).toMatchObject({ status: 'failed', reason: 'deadline', rowsMayBeMissing: true });
    } finally {
      await executor.close();
    }
  });

  it('takes the plan’s deadlineMs as the query’s, and the run’s over it', async () => {
    const { clock, executor } = setup();
    try {
      const fromPlan = executor.run({ ...plan(true), deadlineMs: 300 });
      await clock.advanceAsync(300);
      expect((await fromPlan.result).status).toBe('partial');
      const t0 = clock.now();
      const fromRun = executor.run({ ...plan(true), deadlineMs: 300 }, { deadlineMs: 600 });
      await clock.advanceAsync(600);
      expect((await fromRun.result).stats.durationMs).toBe(600);
      expect(clock.now() - t0).toBe(600);
    } finally {
      await executor.close();
    }
  });

  it('keeps a fragment deadline reachable as the plan’s fragmentDeadlineMs', async () => {
    const { clock, executor } = setup();
    try {
      const run = executor.run({ fragments: [{ id: 'slow', source: 'hangs', query: { ms: 0 } }], fragmentDeadlineMs: 250 });
      await clock.advanceAsync(250);
      const result = await run.result;
      expect(result.errors[0]).toMatchObject({ code: 'TIMEOUT' });
      expect(result.errors[0]!.message).toContain('250 ms deadline');
      expect(result.completeness.fragments.slow).toMatchObject({ status: 'failed', reason: 'failed' });
    } finally {
      await executor.close();
    }
  });

  it('rejects a malformed deadline with CONFIG_INVALID naming the option', async () => {
    const { executor } = setup();
    try {
      for (const deadlineMs of [0, -5, 1.5, 2 ** 31]) {
        expect(() => executor.run(plan(true), { deadlineMs })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', issues: [expect.objectContaining({ path: 'deadlineMs' })] }));
      }
      expect(() => executor.run({ ...plan(true), deadlineMs: -1 })).toThrow(expect.objectContaining({ code: 'PLAN_INVALID' }));
      expect(() => createExecutor({ deadlineMs: 0 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    } finally {
      await executor.close();
    }
  });

  it('sets no timer and no budget without a deadline', async () => {
    const { clock, ok, executor } = setup();
    try {
      const run = executor.run({ fragments: [{ id: 'f', source: 'ok', query: { ms: 5 } }] });
      await clock.advanceAsync(5);
      const result = await run.result;
      expect(result.fragments.f!.budgetMs).toBeUndefined();
      expect(ok.budgets).toEqual([10_000]);
      expect(result.completeness).toEqual({ complete: true, fragments: {} });
    } finally {
      await executor.close();
    }
  });

  it('shows in EXPLAIN ANALYZE each fragment’s budget against the time it used, and what fell short', async () => {
    const { clock, executor } = setup();
    try {
      const p = plan(true);
      const run = executor.run(p, { deadlineMs: 400 });
      await clock.advanceAsync(400);
      const text = analyze(await run.result, p).text();
      const lines = text.split('\n');
      const header = lines.find((l) => l.includes('fragment') && l.includes('budget'))!;
      expect(header.indexOf('budget')).toBeGreaterThan(header.indexOf('duration'));
      const slow = lines.find((l) => /^\S?\s+slow\s/.test(l))!;
      // duration, then budget: 400 ms used of a 400 ms budget.
      expect(slow).toMatch(/dropped\s.*\s400\.0\s+400\.0\s/);
      // 'fast' has two fragments below it: a third of the deadline.
      expect(lines.find((l) => /^\S?\s+fast\s/.test(l))).toMatch(/\s50\.0\s+133\.0\s/);
      expect(text).toContain('incomplete: rows may be missing');
      expect(text).toContain('  slow: dropped (deadline), 400.0 of 400.0 ms budget');
      expect(text).toContain('  later: skipped (skipped)');
      // Without a deadline, no budget column.
      const plain = executor.run({ fragments: [{ id: 'f', source: 'ok', query: { ms: 1 } }] });
      await clock.advanceAsync(1);
      expect(analyze(await plain.result).text()).not.toContain('budget');
    } finally {
      await executor.close();
    }
  });
});
