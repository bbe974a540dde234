import { describe, expect, it } from 'vitest';
import { createExecutor, memorySource, type Executor, type QueryRun, type Row } from '../../../src/index.js';
import { snapshotAudit, type SnapshotAudit } from '../../support/snapshot-audit.js';
import { testSource, type TestSource } from '../../support/engine.js';

/**
 * Issue 12 when the run is stopped from inside the machinery's own callbacks: a cancel from an
 * `events$` handler (the fragment's outcome is recorded, its settle event not yet taken), from
 * a snapshot subscriber, by a signal aborted before the run starts, and while a streamed merge
 * waits for its reader. Every snapshot and event kept on arrival is unchanged after the run;
 * the last snapshot is `failed` with the counts `events$` reported.
 */
describe('immutable snapshots: cancels from inside the run', () => {
  function setup(): { audit: SnapshotAudit; executor: Executor; ctl: TestSource } {
    const audit = snapshotAudit();
    const ctl = testSource({ behaviour: (c) => (c.key === 'hang' ? undefined : c.key === 'right' ? [{ id: 1 }, { id: 2 }, { id: 3 }] : [{ id: c.key }]) });
    const many = [1, 2, 3, 1, 2, 3].map((id, i) => ({ id, i }));
    const executor = createExecutor({ sources: { mem: memorySource({ tables: { t: [{ id: 1 }, { id: 2 }], many } }), ctl: ctl.source }, cache: false, inspect: audit.inspect });
    return { audit, executor, ctl };
  }
  const plan = (id: string, schedule: 'levels' | 'eager' = 'levels') => ({
    id,
    schedule,
    fragments: [
      { id: 'a', source: 'ctl', query: { key: 'a' } },
      { id: 'b', source: 'ctl', query: { key: 'b' } },
      { id: 'hang', source: 'ctl', query: { key: 'hang' } },
      { id: 'm', source: 'mem', dependsOn: ['a'], query: { table: 't' } },
      { id: 'n', source: 'mem', dependsOn: ['hang'], query: { table: 't' } },
    ],
    merge: { op: 'union' as const, inputs: ['a', 'b', 'm', 'n'] },
  });
  const rejection = (run: QueryRun): Promise<Error> => run.result.then(() => new Error('not cancelled'), (e: unknown) => e as Error);

  for (const schedule of ['levels', 'eager'] as const) {
    it(`from an events$ handler, on a fragment's success (${schedule})`, async () => {
      const { audit, executor } = setup();
      try {
        const run = audit.watch(executor.run(plan(`imm-reentrant-events-${schedule}`, schedule)));
        run.events$.subscribe((e) => {
          if (e.type === 'fragment.succeeded' && e.fragmentId === 'a') run.cancel('from events$');
        });
        const error = await rejection(run);
        expect(error).toMatchObject({ code: 'CANCELLED' });
        expect(audit.problems(run, error, ['mem', 'ctl'])).toEqual([]);
        expect(run.actor.getSnapshot().context.counts.succeeded).toBeGreaterThanOrEqual(1);
      } finally {
        await executor.close();
      }
    });
  }

  it('from a snapshot subscriber', async () => {
    const { audit, executor } = setup();
    try {
      const run = audit.watch(executor.run(plan('imm-reentrant-subscriber')));
      run.actor.subscribe((s) => {
        if (s.context.counts.succeeded >= 1) run.cancel('from subscribe');
      });
      const error = await rejection(run);
      expect(error).toMatchObject({ code: 'CANCELLED' });
      expect(audit.problems(run, error, ['mem', 'ctl'])).toEqual([]);
    } finally {
      await executor.close();
    }
  });

  it('by a signal aborted before the run starts', async () => {
    const { audit, executor, ctl } = setup();
    try {
      const controller = new AbortController();
      controller.abort(new Error('too late'));
      const run = audit.watch(executor.run(plan('imm-reentrant-preaborted'), { signal: controller.signal }));
      const error = await rejection(run);
      expect(error).toMatchObject({ code: 'CANCELLED' });
      expect(ctl.calls).toEqual([]);
      expect(audit.problems(run, error, ['mem', 'ctl'])).toEqual([]);
    } finally {
      await executor.close();
    }
  });

  it('while a streamed merge waits for its reader (cancel, then close)', async () => {
    for (const how of ['cancel', 'close'] as const) {
      const { audit, executor } = setup();
      try {
        const run = audit.watch(
          executor.run({
            id: `imm-reentrant-merging-${how}`,
            // A streamed left side that started before the join's right side settled: it runs
            // whole and is pushed at the end, and the merge waits for the reader to take it.
            fragments: [
              { id: 'many', source: 'mem', query: { table: 'many' } },
              { id: 'right', source: 'ctl', query: { key: 'right' } },
            ],
            merge: { op: 'join', type: 'inner', left: 'many', right: 'right', on: [['id', 'id']] },
          }),
        );
        const reader = run.rows(1)[Symbol.asyncIterator]();
        const first = await reader.next();
        expect(first.value as Row[]).toHaveLength(1);
        // The reader holds back: the merge cannot finish.
        for (let i = 0; i < 20 && run.actor.getSnapshot().value !== 'merging'; i++) await new Promise<void>((resolve) => setImmediate(resolve));
        expect(run.actor.getSnapshot().value).toBe('merging');
        if (how === 'cancel') run.cancel('from the test');
        else await executor.close();
        const error = await rejection(run);
        expect(error).toMatchObject({ code: 'CANCELLED' });
        await reader.return?.();
        expect([how, audit.problems(run, error, ['mem', 'ctl'])]).toEqual([how, []]);
      } finally {
        await executor.close();
      }
    }
  });
});
