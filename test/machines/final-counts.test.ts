import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, createVirtualClock, memorySource, type Executor, type Progress, type QueryResult, type QueryRun } from '../../src/index.js';
import { collectEvents, flush, ofType, testSource, until } from '../support/engine.js';

type Snapshot = ReturnType<QueryRun['actor']['getSnapshot']>;

/** The fragments of a result by status. */
function tally(result: QueryResult): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of Object.values(result.fragments)) out[f.status] = (out[f.status] ?? 0) + 1;
  return out;
}

/** Every per-source figure of a snapshot, summed. */
function sourceSums(s: Snapshot): { succeeded: number; failed: number } {
  let succeeded = 0;
  let failed = 0;
  for (const c of Object.values(s.context.sources)) {
    succeeded += c.succeeded;
    failed += c.failed;
  }
  return { succeeded, failed };
}

/** The last snapshot, progress and events of a run agree with its result, whichever way it ended. */
describe('the query actor\'s last counts', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  for (const schedule of ['levels', 'eager'] as const) {
    it(`count as skipped what a fail-fast stop left unreachable, as result.fragments does (${schedule})`, async () => {
      const ctl = testSource({ behaviour: (c) => (c.key === 'broken' ? new Error('broken on purpose') : c.key === 'hang' ? undefined : [{ id: c.key }]) });
      executor = createExecutor({ sources: { mem: memorySource({ tables: { t: [{ id: 1 }] } }), ctl: ctl.source }, cache: false, retry: { attempts: 1 } });
      const run = executor.run({
        id: `fail-fast-${schedule}`,
        errorPolicy: 'fail-fast',
        schedule,
        fragments: [
          { id: 'hang', source: 'ctl', query: { key: 'hang' } },
          { id: 'broken', source: 'ctl', query: { key: 'broken' } },
          // Never reachable once `broken` failed, nor once `hang` was stopped unfinished.
          { id: 'after-broken', source: 'mem', dependsOn: ['broken'], query: { table: 't' } },
          { id: 'after-hang', source: 'mem', dependsOn: ['hang'], query: { table: 't' } },
        ],
        merge: { op: 'union', inputs: ['after-broken', 'after-hang'] },
      });
      const events = collectEvents(run);
      const progress: Progress[] = [];
      run.progress$.subscribe((p) => progress.push(p));
      const result = await run.result;

      expect(result.status).toBe('failed');
      expect(tally(result)).toEqual({ failed: 1, skipped: 2, cancelled: 1 });
      const last = run.actor.getSnapshot();
      expect(last.value).toBe('failed');
      expect(last.context.counts).toEqual({ total: 4, queued: 0, running: 0, succeeded: 0, failed: 1, skipped: 2, cached: 0 });
      expect(progress.at(-1)).toMatchObject({ succeeded: 0, failed: 1, skipped: 2, running: 0, done: true });
      expect(ofType(events, 'fragment.skipped').map((e) => [e.fragmentId, e.because]).sort()).toEqual([
        ['after-broken', 'broken'],
        ['after-hang', 'hang'],
      ]);
      // Each fragment settles once in events$, and the query's end comes last.
      const settled = events.filter((e) => e.type === 'fragment.succeeded' || e.type === 'fragment.failed' || e.type === 'fragment.skipped').map((e) => (e as { fragmentId: string }).fragmentId);
      expect(new Set(settled).size).toBe(settled.length);
      expect(events.at(-1)!.type).toBe('query.failed');
    });
  }

  for (const errorPolicy of ['partial', 'fail-fast'] as const) {
    it(`count the fragments the query's deadline failed in their source's figures too (${errorPolicy})`, async () => {
      const clock = createVirtualClock();
      const ctl = testSource({ behaviour: (c) => (c.key === 'hang' ? undefined : [{ id: c.key }]) });
      executor = createExecutor({ sources: { ctl: ctl.source }, cache: false, retry: { attempts: 1 }, clock });
      const run = executor.run(
        {
          id: `deadline-${errorPolicy}`,
          errorPolicy,
          fragments: [
            { id: 'quick', source: 'ctl', query: { key: 'quick' } },
            { id: 'hang-1', source: 'ctl', query: { key: 'hang' } },
            { id: 'hang-2', source: 'ctl', query: { key: 'hang' } },
          ],
          merge: { op: 'union', inputs: ['quick', 'hang-1', 'hang-2'] },
        },
        { deadlineMs: 1_000 },
      );
      const snapshots: Snapshot[] = [];
      run.actor.subscribe((s) => snapshots.push(s));
      await until(() => ctl.calls.length === 3, 'the three calls');
      await flush();
      clock.advance(1_000);
      const result = await run.result;

      expect(tally(result)).toEqual({ succeeded: 1, failed: 2 });
      const last = run.actor.getSnapshot();
      expect(last.context.counts).toMatchObject({ succeeded: 1, failed: 2 });
      expect(last.context.sources.ctl).toEqual({ sent: 3, succeeded: 1, failed: 2, cached: 0 });
      expect(sourceSums(last)).toEqual({ succeeded: last.context.counts.succeeded, failed: last.context.counts.failed });
      // No snapshot on the way showed a source failure the counts did not (or the reverse).
      for (const s of snapshots) expect(sourceSums(s).failed).toBe(s.context.counts.failed);
    });
  }

  it('count a fragment events$ reported settled when a handler of that event cancelled the query before the actor took it', async () => {
    const ctl = testSource({ behaviour: (c) => (c.key === 'broken' ? new Error('broken on purpose') : undefined) });
    executor = createExecutor({ sources: { ctl: ctl.source }, cache: false, retry: { attempts: 1 } });
    const run = executor.run({
      id: 'cancel-on-failure',
      errorPolicy: 'partial',
      fragments: [
        { id: 'hang', source: 'ctl', query: { key: 'hang' } },
        { id: 'broken', source: 'ctl', query: { key: 'broken' } },
        { id: 'after-broken', source: 'ctl', dependsOn: ['broken'], query: { key: 'after' } },
      ],
      merge: { op: 'union', inputs: ['hang', 'after-broken'] },
    });
    const events = collectEvents(run);
    // An app that gives up on the first failure, from its event.
    run.events$.subscribe((e) => {
      if (e.type === 'fragment.failed') run.cancel('a fragment failed');
    });
    const progress: Progress[] = [];
    run.progress$.subscribe((p) => progress.push(p));
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });

    expect(ofType(events, 'fragment.failed').map((e) => e.fragmentId)).toEqual(['broken']);
    const last = run.actor.getSnapshot();
    expect(last.value).toBe('failed');
    expect(last.context.counts).toEqual({ total: 3, queued: 0, running: 0, succeeded: 0, failed: 1, skipped: 1, cached: 0 });
    expect(last.context.sources.ctl).toMatchObject({ succeeded: 0, failed: 1 });
    expect(progress.at(-1)).toMatchObject({ failed: 1, skipped: 1, done: true });
  });
});
