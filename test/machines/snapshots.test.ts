import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, type Executor, type QueryRun } from '../../src/index.js';
import { testSource } from '../support/engine.js';

type Snapshot = ReturnType<QueryRun['actor']['getSnapshot']>;

/** What a snapshot shows a reader: its state, status and context. */
const view = (s: Snapshot) => ({ value: s.value, status: s.status, context: s.context });

/** A plan with a bit of everything: several sources, levels, a bind join, a failure under `partial`, a skip. */
function mixedPlan(schedule: 'levels' | 'eager') {
  return {
    id: `mixed-${schedule}`,
    errorPolicy: 'partial' as const,
    schedule,
    fragments: [
      { id: 'keys', source: 'mem', query: { table: 't' } },
      { id: 'left', source: 'ctl', dependsOn: ['keys'], query: { key: 'left', params: [{ $from: 'keys', column: 'id' }] } },
      { id: 'right', source: 'ctl', dependsOn: ['keys'], query: { key: 'right' } },
      { id: 'broken', source: 'ctl', dependsOn: ['keys'], query: { key: 'broken' } },
      { id: 'after-broken', source: 'mem', dependsOn: ['broken'], query: { table: 't' } },
      { id: 'last', source: 'mem', dependsOn: ['left', 'right'], query: { table: 't' } },
    ],
    merge: { op: 'union', inputs: ['keys', 'left', 'right', 'last'] },
  };
}

describe('query actor snapshots', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  function setup(): void {
    const ctl = testSource({ behaviour: (c) => (c.key === 'broken' ? new Error('broken on purpose') : [{ id: c.key }]) });
    executor = createExecutor({
      sources: { mem: memorySource({ tables: { t: [{ id: 1 }, { id: 2 }] } }), ctl: ctl.source },
      cache: false,
      retry: { attempts: 1 },
    });
  }

  for (const schedule of ['levels', 'eager'] as const) {
    it(`never changes after it is emitted (${schedule})`, async () => {
      setup();
      const run = executor!.run(mixedPlan(schedule));
      const kept: { snapshot: Snapshot; copy: ReturnType<typeof view> }[] = [];
      run.actor.subscribe((s) => kept.push({ snapshot: s, copy: structuredClone(view(s)) }));
      const result = await run.result;
      expect(result.status).toBe('partial');
      expect(result.fragments['after-broken']!.status).toBe('skipped');

      expect(kept.length).toBeGreaterThan(6);
      for (const { snapshot, copy } of kept) expect(view(snapshot)).toEqual(copy);
      // And the snapshots do differ: each settle made a new context.
      const contexts = new Set(kept.map((k) => k.snapshot.context));
      expect(contexts.size).toBeGreaterThan(5);
      const final = kept[kept.length - 1]!.snapshot.context;
      expect(final.counts).toMatchObject({ total: 6, succeeded: 4, failed: 1, skipped: 1 });
    });
  }

  it('lets a selector that compares by reference see every change (as @xstate/react useSelector does)', async () => {
    setup();
    const run = executor!.run(mixedPlan('eager'));
    // The truth: the succeeded count of every snapshot, read when it arrived.
    const truth: number[] = [];
    // The selector's view: it re-reads only when the selected object is a new one.
    const seen: number[] = [];
    let selected: unknown;
    let sourceSelected: unknown;
    const sourceSeen: number[] = [];
    run.actor.subscribe((s) => {
      truth.push(s.context.counts.succeeded);
      if (s.context.counts !== selected) {
        selected = s.context.counts;
        seen.push(s.context.counts.succeeded);
      }
      const ctl = s.context.sources.ctl;
      if (ctl !== sourceSelected) {
        sourceSelected = ctl;
        sourceSeen.push(ctl?.succeeded ?? -1);
      }
    });
    await run.result;
    const distinct = (xs: number[]) => xs.filter((x, i) => i === 0 || x !== xs[i - 1]);
    expect(distinct(seen)).toEqual(distinct(truth));
    expect(distinct(truth)).toEqual([0, 1, 2, 3, 4]);
    expect(distinct(sourceSeen)).toEqual([0, 1, 2]);
  });
});
