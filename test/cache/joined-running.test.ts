import { afterEach, expect, it } from 'vitest';
import { createExecutor, memorySource, type Executor, type Plan, type Progress } from '../../src/index.js';
import { collectEvents, flush, ofType, testSource, until } from '../support/engine.js';

let executor: Executor | undefined;
afterEach(async () => {
  await executor?.close();
  executor = undefined;
});

it('a fragment sharing another run’s in-flight load counts as running (progress and snapshot) while it waits, and says so with fragment.joined', async () => {
  const ctl = testSource();
  executor = createExecutor({ sources: { ctl: ctl.source, mem: memorySource({ tables: { t: [{ id: 2 }] } }) }, retry: { attempts: 1 } });
  const plan: Plan = { id: 'shared', fragments: [{ id: 'f', source: 'ctl', query: { key: 'k' } }] };
  const first = executor.run(plan);
  await ctl.waitForCalls(1);
  // Its other fragment settles at once: the query actor takes a step while `f` waits on the shared load.
  const second = executor.run({
    id: 'sharing',
    fragments: [...plan.fragments, { id: 'g', source: 'mem', query: { table: 't' } }],
    merge: { op: 'union', inputs: ['f', 'g'] },
  });
  const events = collectEvents(second);
  const progress: Progress[] = [];
  second.progress$.subscribe((p) => progress.push(p));
  await until(() => ofType(events, 'fragment.joined').length === 1, 'the second run joined the load');
  await flush();

  expect(ctl.calls).toHaveLength(1);
  expect(ofType(events, 'fragment.started').map((e) => e.fragmentId)).toEqual(['g']);
  expect(progress.at(-1)).toMatchObject({ running: 1, succeeded: 1, done: false });
  expect(second.actor.getSnapshot().context.counts).toMatchObject({ queued: 0, running: 1, succeeded: 1 });

  ctl.calls[0]!.resolve([{ id: 1 }]);
  const [a, b] = await Promise.all([first.result, second.result]);
  expect(a.rows).toEqual([{ id: 1 }]);
  expect(b.rows).toEqual([{ id: 1 }, { id: 2 }]);
  expect(b.fragments['f']).toMatchObject({ status: 'succeeded', attempts: 0 });
  expect(progress.at(-1)).toMatchObject({ running: 0, succeeded: 2, done: true, percent: 100 });
  expect(second.actor.getSnapshot().context.counts).toMatchObject({ queued: 0, running: 0, succeeded: 2 });
});
