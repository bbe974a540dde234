import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, type ExecutionEvent, type Executor } from '../../src/index.js';
import { collectEvents, ofType, testSource, until } from '../support/engine.js';

/** `level.started N` then each fragment's first event, as one list: the order a reader of events$ sees. */
function timeline(events: readonly ExecutionEvent[]): string[] {
  return events.flatMap((e) => {
    if (e.type === 'level.started') return [`level ${e.level}`];
    if (e.type === 'fragment.queued') return [`queued ${e.fragmentId}`];
    if (e.type === 'fragment.succeeded') return [`succeeded ${e.fragmentId}`];
    if (e.type === 'merge.started') return ['merge'];
    return [];
  });
}

/** root → slow, root → fast → leaf: `leaf` (level 2) can start while `slow` (level 1) runs. */
const slowSiblingPlan = (schedule: 'eager' | 'levels') => ({
  fragments: [
    { id: 'root', source: 'ctl', query: { key: 'root' } },
    { id: 'slow', source: 'ctl', dependsOn: ['root'], query: { key: 'slow' } },
    { id: 'fast', source: 'ctl', dependsOn: ['root'], query: { key: 'fast' } },
    { id: 'leaf', source: 'ctl', dependsOn: ['fast'], query: { key: 'leaf' } },
  ],
  merge: { op: 'union', inputs: ['slow', 'leaf'] },
  schedule,
});

describe('level.started: a level starts when its first fragment is sent to run', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  it('under eager, a level is announced as its first fragment is queued, not when the machine passes its state', async () => {
    const ctl = testSource({ behaviour: (c) => (c.key === 'slow' ? undefined : [{ k: c.key }]) });
    executor = createExecutor({ sources: { ctl: ctl.source }, cache: false });
    const run = executor.run(slowSiblingPlan('eager'));
    const events = collectEvents(run);
    await until(() => ofType(events, 'fragment.succeeded').some((e) => e.fragmentId === 'leaf'), 'leaf to finish');
    // leaf (level 2) ran while the machine is still in level 1's state: level 2 has started.
    expect(run.actor.getSnapshot().value).toBe('executing-level-1');
    expect(ofType(events, 'level.started').map((e) => e.level)).toEqual([0, 1, 2]);
    ctl.calls.find((c) => c.key === 'slow')!.resolve([{ k: 'slow' }]);
    await run.result;
    expect(timeline(events)).toEqual([
      'level 0', 'queued root', 'succeeded root',
      'level 1', 'queued slow', 'queued fast', 'succeeded fast',
      'level 2', 'queued leaf', 'succeeded leaf',
      // The machine now passes level 2's state on its way to merging: no second announcement.
      'succeeded slow', 'merge',
    ]);
  });

  it('under levels, a level is announced on its state\'s entry, before its fragments', async () => {
    const ctl = testSource({ behaviour: (c) => [{ k: c.key }] });
    executor = createExecutor({ sources: { ctl: ctl.source }, cache: false });
    const run = executor.run(slowSiblingPlan('levels'));
    const events = collectEvents(run);
    await run.result;
    expect(timeline(events)).toEqual([
      'level 0', 'queued root', 'succeeded root',
      'level 1', 'queued slow', 'queued fast', 'succeeded slow', 'succeeded fast',
      'level 2', 'queued leaf', 'succeeded leaf',
      'merge',
    ]);
  });

  it.each(['eager', 'levels'] as const)('under %s, a level none of whose fragments runs (all skipped) is never announced', async (schedule) => {
    const ctl = testSource({ behaviour: (c) => (c.key === 'bad' ? new Error('boom') : [{ k: c.key }]) });
    executor = createExecutor({ sources: { ctl: ctl.source }, cache: false, retry: { attempts: 1 } });
    const run = executor.run({
      fragments: [
        { id: 'ok', source: 'ctl', query: { key: 'ok' } },
        { id: 'bad', source: 'ctl', query: { key: 'bad' } },
        { id: 'child', source: 'ctl', dependsOn: ['bad'], query: { key: 'child' } },
      ],
      merge: { op: 'union', inputs: ['ok', 'child'] },
      errorPolicy: 'partial',
      schedule,
    });
    const events = collectEvents(run);
    const result = await run.result;
    expect(result.fragments.child?.status).toBe('skipped');
    expect(ofType(events, 'level.started').map((e) => e.level)).toEqual([0]);
  });

  it('under eager, a plan answered from the cache announces each level once, before its fragments', async () => {
    const ctl = testSource({ behaviour: (c) => [{ k: c.key }] });
    executor = createExecutor({ sources: { ctl: ctl.source } });
    await executor.execute(slowSiblingPlan('eager'));
    const run = executor.run(slowSiblingPlan('eager'));
    const events = collectEvents(run);
    await run.result;
    expect(ofType(events, 'fragment.cached')).toHaveLength(4);
    const lines = timeline(events);
    expect(lines.filter((l) => l.startsWith('level'))).toEqual(['level 0', 'level 1', 'level 2']);
    expect(lines.indexOf('level 1')).toBeLessThan(lines.indexOf('queued slow'));
    expect(lines.indexOf('level 2')).toBeLessThan(lines.indexOf('queued leaf'));
    expect(lines.indexOf('level 2')).toBeGreaterThan(lines.indexOf('succeeded fast'));
  });
});
