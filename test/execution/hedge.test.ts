import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, createVirtualClock, explain, httpSource, memorySource, type ExecutionEvent, type ExecutorOptions, type SourceExecutor, type VirtualClock } from '../../src/index.js';
import { mergeHedge } from '../../src/execution/hedge.js';
import { policyText } from '../../src/explain/describe.js';
import { isReadOnlySql } from '../../src/sources/sql/read-only.js';
import { tailSource } from '../support/tail-source.js';

const FRAGMENTS = 100;

async function runTail(options: Partial<ExecutorOptions>, extra: Partial<SourceExecutor> = {}, plan: Record<string, unknown> = {}) {
  const clock = createVirtualClock();
  const source = tailSource(clock, extra);
  const executor = createExecutor({ sources: { s: source }, clock, cache: false, concurrency: 1000, telemetry: false, ...options });
  const ids = Array.from({ length: FRAGMENTS }, (_, i) => `f${i}`);
  const events: ExecutionEvent[] = [];
  try {
    const run = executor.run({ fragments: ids.map((id, n) => ({ id, source: 's', query: { n } })), merge: { op: 'union', inputs: ids }, ...plan });
    run.events$.subscribe((e) => events.push(e));
    let done = false;
    void run.result.finally(() => (done = true));
    while (!done) await clock.advanceAsync(5);
    const result = await run.result;
    return { result, source, events, durations: Object.values(result.fragments).map((f) => f.durationMs ?? Infinity) };
  } finally {
    await executor.close();
  }
}

describe('hedged requests (virtual clock)', () => {
  it('without hedging, the slowest fragment waits out the 300 ms tail', async () => {
    const { result, durations, source } = await runTail({});
    expect(result.status).toBe('ok');
    expect(Math.max(...durations)).toBeGreaterThanOrEqual(300);
    expect(source.attempts).toHaveLength(FRAGMENTS);
  });

  it('with hedge: { afterMs: 30 } every fragment finishes under 120 ms, ≤ 15% extra calls, losers aborted, no row twice', async () => {
    const { result, durations, source, events } = await runTail({ hedge: { afterMs: 30 } });
    expect(result.status).toBe('ok');
    expect(Math.max(...durations)).toBeLessThan(120);
    const extra = source.attempts.length - FRAGMENTS;
    expect(extra).toBeGreaterThan(0);
    expect(extra).toBeLessThanOrEqual(0.15 * FRAGMENTS);
    const hedged = events.filter((e): e is Extract<ExecutionEvent, { type: 'fragment.hedged' }> => e.type === 'fragment.hedged');
    expect(hedged).toHaveLength(extra);
    expect(hedged.every((e) => e.afterMs === 30)).toBe(true);
    // Every slow call lost to its hedge: its signal fired and it never answered.
    const slow = source.attempts.filter((a) => a.slow);
    expect(slow.length).toBeGreaterThan(0);
    for (const a of slow) {
      expect(a.signal.aborted).toBe(true);
      expect(a.answered).toBe(false);
      expect(a.signal.reason).toMatchObject({ code: 'CANCELLED' });
    }
    // Winners were not aborted; each fragment's row arrived once.
    expect(source.attempts.filter((a) => !a.slow).every((a) => !a.signal.aborted)).toBe(true);
    expect(result.rows.map((r) => r.n).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: FRAGMENTS }, (_, i) => i));
    expect(Object.values(result.fragments).every((f) => f.rowCount === 1)).toBe(true);
  });

  it('a plan or a fragment can turn hedging on or off', async () => {
    const byPlan = await runTail({}, {}, { hedge: { afterMs: 30 } });
    expect(Math.max(...byPlan.durations)).toBeLessThan(120);
    const offByPlan = await runTail({ hedge: { afterMs: 30 } }, {}, { hedge: false });
    expect(Math.max(...offByPlan.durations)).toBeGreaterThanOrEqual(300);
    expect(offByPlan.source.attempts).toHaveLength(FRAGMENTS);
  });

  it('maxExtraRatio bounds extra calls over the window', async () => {
    const { source, durations } = await runTail({ hedge: { afterMs: 30, maxExtraRatio: 0.02 } });
    expect(source.attempts.length - FRAGMENTS).toBe(2);
    expect(Math.max(...durations)).toBeGreaterThanOrEqual(300);
    const none = await runTail({ hedge: { afterMs: 30, maxExtraRatio: 0 } });
    expect(none.source.attempts).toHaveLength(FRAGMENTS);
  });

  it('hedges at the observed latency quantile when no afterMs is given', async () => {
    // Ten calls at a time: once 20 have answered, the 90th percentile is known (10 ms), and
    // each slow call after that is hedged 10 ms after it began.
    const { source, events } = await runTail({ concurrency: 10, hedge: { quantile: 0.9 } });
    const hedged = events.filter((e): e is Extract<ExecutionEvent, { type: 'fragment.hedged' }> => e.type === 'fragment.hedged');
    expect(hedged.length).toBeGreaterThan(0);
    expect(hedged.every((e) => e.afterMs === 10)).toBe(true);
    expect(source.attempts.length).toBeGreaterThan(FRAGMENTS);
  });

  it('hedges a custom source that does not say what it reads, since hedge was turned on for it', async () => {
    const { durations, source } = await runTail({ hedge: { afterMs: 30 } }, { isReadOnly: undefined });
    expect(Math.max(...durations)).toBeLessThan(120);
    expect(source.attempts.length).toBeGreaterThan(FRAGMENTS);
  });

  it('never hedges a call its source says is not a read, unless the fragment says it is idempotent', async () => {
    const noRead = await runTail({ hedge: { afterMs: 30 } }, { isReadOnly: () => false });
    expect(noRead.source.attempts).toHaveLength(FRAGMENTS);
    const optIn = await runTail({}, { isReadOnly: () => false }, { hedge: { afterMs: 30, idempotent: true } });
    expect(optIn.source.attempts.length).toBeGreaterThan(FRAGMENTS);
  });

  it('never hedges a streaming call: rows handed on are never duplicated', async () => {
    const clock = createVirtualClock();
    const source = tailSource(clock);
    const executor = createExecutor({ sources: { s: source }, clock, cache: false, concurrency: 1000, hedge: { afterMs: 30 } });
    try {
      const ids = Array.from({ length: 40 }, (_, i) => `f${i}`);
      const run = executor.run({ fragments: ids.map((id, n) => ({ id, source: 's', query: { n } })), merge: { op: 'union', inputs: ids } });
      const rows: unknown[] = [];
      const reading = (async () => {
        for await (const batch of run.rows()) rows.push(...batch);
      })();
      let done = false;
      void reading.finally(() => (done = true));
      while (!done) await clock.advanceAsync(5);
      await reading;
      expect(rows).toHaveLength(40);
      expect(source.attempts).toHaveLength(40);
    } finally {
      await executor.close();
    }
  });
});

describe('a hedged pair where one call fails', () => {
  /** Call 1 answers (or fails) after 100 ms; call 2, the hedge, fails at once. */
  function pair(clock: VirtualClock, firstFails: boolean): SourceExecutor & { signals: AbortSignal[] } {
    const signals: AbortSignal[] = [];
    return {
      kind: 'pair',
      querySchema: z.object({}),
      signals,
      isReadOnly: () => true,
      execute: (_q, ctx) => {
        signals.push(ctx.signal);
        if (signals.length > 1) return Promise.reject(Object.assign(new Error('hedge refused'), { retryable: true }));
        return new Promise((resolve, reject) =>
          clock.setTimeout(() => (firstFails ? reject(Object.assign(new Error('first failed'), { retryable: true })) : resolve([{ ok: 1 }])), 100),
        );
      },
    };
  }

  async function runPair(firstFails: boolean) {
    const clock = createVirtualClock();
    const source = pair(clock, firstFails);
    const executor = createExecutor({ sources: { s: source }, clock, cache: false, retry: { attempts: 1 }, hedge: { afterMs: 30, maxExtraRatio: 1 } });
    try {
      const run = executor.run({ fragments: [{ id: 'f', source: 's', query: {} }] });
      const events: ExecutionEvent[] = [];
      run.events$.subscribe((e) => events.push(e));
      await clock.advanceAsync(200);
      return { result: await run.result, events, source };
    } finally {
      await executor.close();
    }
  }

  it('the other call may still answer: the fragment succeeds and hears of no failure', async () => {
    const { result, events, source } = await runPair(false);
    expect(result.status).toBe('ok');
    expect(result.rows).toEqual([{ ok: 1 }]);
    expect(source.signals).toHaveLength(2);
    expect(events.filter((e) => e.type === 'fragment.hedged')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'fragment.attempt.failed')).toHaveLength(0);
    expect(result.fragments.f!.durationMs).toBe(100);
  });

  it('when both fail, the try fails once, with the last error', async () => {
    const { result, events } = await runPair(true);
    expect(result.status).toBe('failed');
    expect(result.errors[0]!.message).toContain('first failed');
    expect(events.filter((e) => e.type === 'fragment.attempt.failed')).toHaveLength(1);
  });
});

describe('hedge options', () => {
  it('merge executor, plan and fragment; false turns hedging off', () => {
    expect(mergeHedge(false)).toBeUndefined();
    expect(mergeHedge({})).toEqual({ afterMs: undefined, quantile: 0.95, maxExtraRatio: 0.1, idempotent: false });
    expect(mergeHedge({ afterMs: 50 }, undefined, { maxExtraRatio: 0.2 })).toEqual({ afterMs: 50, quantile: undefined, maxExtraRatio: 0.2, idempotent: false });
    expect(mergeHedge({ afterMs: 50 }, false)).toBeUndefined();
    expect(mergeHedge(false, { quantile: 0.99 })).toMatchObject({ quantile: 0.99 });
  });

  it('are validated where they are given', () => {
    expect(() => createExecutor({ hedge: { quantile: 1.5 } })).toThrow(/hedge\.quantile/);
    const executor = createExecutor({ sources: { m: memorySource({ tables: { t: [] } }) } });
    expect(() => executor.validate({ fragments: [{ id: 'a', source: 'm', query: { table: 't' }, hedge: { afterMs: -1 } }] })).toThrow(/hedge/);
    void executor.close();
  });
});

describe('which calls may be hedged', () => {
  it('SQL: one statement that only reads', () => {
    const reads = ['SELECT 1', '  select * from t where a = $1;', 'WITH x AS (SELECT 1) SELECT * FROM x', 'VALUES (1), (2)', '/* hint */ -- note\nSELECT 1', '(SELECT 1) UNION (SELECT 2)', 'TABLE t', "SELECT replace(name, '-', '') FROM t", 'SELECT CAST(a AS CHAR CHARACTER SET utf8mb4) FROM t'];
    for (const sql of reads) expect(isReadOnlySql({ sql }), sql).toBe(true);
    const writes = [
      'INSERT INTO t VALUES (1)',
      'SELECT 1; DELETE FROM t',
      'WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d',
      'SELECT * FROM t FOR UPDATE',
      'SELECT * INTO t2 FROM t',
      "SELECT nextval('s')",
      'UPDATE t SET a = 1',
      "SELECT '--'; DROP TABLE t",
      'CALL p()',
      'EXPLAIN ANALYZE DELETE FROM t',
      'REPLACE INTO t (a) VALUES (1)',
      "WITH u AS (UPDATE t SET a = replace(a, 'x', 'y') RETURNING *) SELECT * FROM u",
      "SELECT replace(a, 'x', 'y') INTO t2 FROM t",
    ];
    for (const sql of writes) expect(isReadOnlySql({ sql }), sql).toBe(false);
  });

  it('HTTP: GET yes, POST no', () => {
    const api = httpSource({ baseUrl: 'http://127.0.0.1:9' });
    expect(api.isReadOnly?.({ path: '/a' })).toBe(true);
    expect(api.isReadOnly?.({ path: '/a', method: 'GET' })).toBe(true);
    expect(api.isReadOnly?.({ path: '/a', method: 'POST', body: {} })).toBe(false);
  });
});

describe('EXPLAIN shows a fragment’s own hedge setting', () => {
  it('with its options, or that it is off', () => {
    const e = explain({
      fragments: [
        { id: 'a', source: 'm', query: { table: 't' }, hedge: { afterMs: 30 } },
        { id: 'b', source: 'm', query: { table: 't' }, hedge: false },
      ],
      merge: { op: 'union', inputs: ['a', 'b'] },
    });
    expect(e.fragments.map((f) => policyText(f))).toEqual(['hedge afterMs=30', 'no hedge']);
  });
});
