import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, memorySource, type ExecutionEvent, type Executor, type QueryRun, type SourceExecutor } from '../../src/index.js';

/**
 * DESIGN.md, "Results and events": ExecutionEvent is a discriminated union on `type` with these
 * members, each with `queryId` and `at` (ms since the query started); `run.events$` replays
 * nothing and completes after done/failed. One partial run and one fail-fast run together
 * emit every one of them.
 */
const DESIGN_EVENT_TYPES = [
  'query.started', 'level.started', 'fragment.queued', 'fragment.started', 'fragment.attempt.failed', 'fragment.retrying',
  'fragment.cached', 'fragment.succeeded', 'fragment.failed', 'fragment.skipped', 'merge.started', 'query.done', 'query.failed',
] as const;

interface Watched { events: ExecutionEvent[]; completed: () => boolean }

function watch(run: QueryRun): Watched {
  const events: ExecutionEvent[] = [];
  let completed = false;
  run.events$.subscribe({ next: (e) => events.push(e), complete: () => (completed = true) });
  return { events, completed: () => completed };
}

describe('ExecutionEvent, as DESIGN.md names it', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  function setup(): void {
    let flakyCalls = 0;
    const flaky: SourceExecutor<{ fail: 'once' | 'always' }> = {
      kind: 'flaky',
      querySchema: z.object({ fail: z.enum(['once', 'always']) }),
      execute: async (query) => {
        if (query.fail === 'always') throw Object.assign(new Error('no such table'), { retryable: false });
        flakyCalls += 1;
        if (flakyCalls === 1) throw Object.assign(new Error('connection reset'), { retryable: true });
        return [{ n: flakyCalls }];
      },
    };
    executor = createExecutor({
      sources: { ref: memorySource({ tables: { t: [{ id: 1 }, { id: 2 }] } }), flaky },
      retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
    });
  }

  function checkCommon(w: Watched, queryId: string, terminal: 'query.done' | 'query.failed'): void {
    expect(w.completed()).toBe(true);
    expect(w.events[0]?.type).toBe('query.started');
    expect(w.events.at(-1)?.type).toBe(terminal);
    let last = 0;
    for (const e of w.events) {
      expect(e.queryId).toBe(queryId);
      expect(Number.isFinite(e.at)).toBe(true);
      expect(e.at).toBeGreaterThanOrEqual(last);
      last = e.at;
    }
  }

  it('a partial run and a fail-fast run emit every event type DESIGN.md lists, each with queryId and a non-decreasing `at`, then complete', async () => {
    setup();
    // Warm the cache with the memory table, so the partial run's `t` is a hit.
    await executor!.execute({ id: 'warm', fragments: [{ id: 't', source: 'ref', query: { table: 't' } }] });

    const partial = executor!.run({
      id: 'ev-partial',
      errorPolicy: 'partial',
      fragments: [
        { id: 't', source: 'ref', query: { table: 't' } },
        { id: 'retried', source: 'flaky', query: { fail: 'once' }, dependsOn: ['t'] },
        { id: 'broken', source: 'flaky', query: { fail: 'always' } },
        { id: 'after-broken', source: 'ref', query: { table: 't' }, dependsOn: ['broken'] },
      ],
      merge: { op: 'union', inputs: ['retried', 'after-broken'] },
    });
    const wp = watch(partial);
    const result = await partial.result;
    expect(result.status).toBe('partial');
    expect(Object.fromEntries(Object.entries(result.fragments).map(([id, f]) => [id, [f.status, f.cached]]))).toEqual({
      t: ['succeeded', true], retried: ['succeeded', false], broken: ['failed', false], 'after-broken': ['skipped', false],
    });
    checkCommon(wp, 'ev-partial', 'query.done');

    const failing = executor!.run({ id: 'ev-fail', fragments: [{ id: 'broken', source: 'flaky', query: { fail: 'always' } }] });
    const wf = watch(failing);
    expect((await failing.result).status).toBe('failed');
    checkCommon(wf, 'ev-fail', 'query.failed');

    const seen = new Set([...wp.events, ...wf.events].map((e) => e.type));
    expect(DESIGN_EVENT_TYPES.filter((t) => !seen.has(t))).toEqual([]);

    // One terminal event per fragment, naming it.
    const terminal = wp.events.filter((e) => ['fragment.succeeded', 'fragment.failed', 'fragment.skipped'].includes(e.type));
    expect(terminal.map((e) => ('fragmentId' in e ? `${e.type}:${e.fragmentId}` : e.type)).sort()).toEqual(
      ['fragment.failed:broken', 'fragment.skipped:after-broken', 'fragment.succeeded:retried', 'fragment.succeeded:t'],
    );
  });

  it('events$ replays nothing: subscribed after the run ended it completes with no event', async () => {
    setup();
    const run = executor!.run({ id: 'late', fragments: [{ id: 't', source: 'ref', query: { table: 't' } }] });
    await run.result;
    const w = watch(run);
    expect(w.events).toEqual([]);
    expect(w.completed()).toBe(true);
  });
});
