import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, type ExecutionEvent, type Executor, type Progress, type QueryRun } from '../../src/index.js';
import { collectEvents, sourceError, testSource, until } from '../support/engine.js';

const TERMINAL = new Set(['fragment.succeeded', 'fragment.failed', 'fragment.skipped', 'fragment.dropped', 'fragment.cancelled']);

/** Each fragment's terminal events, in order. */
function terminals(events: readonly ExecutionEvent[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of events) if (TERMINAL.has(e.type) && 'fragmentId' in e) (out[e.fragmentId] ??= []).push(e.type);
  return out;
}

function lastProgress(run: QueryRun): Progress[] {
  const seen: Progress[] = [];
  run.progress$.subscribe((p) => seen.push(p));
  return seen;
}

describe('a run that ends before its fragments settle', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  const plan = {
    id: 'stopped',
    fragments: [
      { id: 'quick', source: 'mem', query: { table: 't' } },
      { id: 'slow', source: 'slow', query: { key: 'slow' } },
      { id: 'after', source: 'mem', dependsOn: ['slow'], query: { table: 't' } },
    ],
    merge: { op: 'union', inputs: ['quick', 'slow', 'after'] },
  };

  it('gives every fragment exactly one terminal event on cancel, and progress that adds up to total', async () => {
    const slow = testSource();
    executor = createExecutor({ cache: false, sources: { slow: slow.source, mem: memorySource({ tables: { t: [{ id: 1 }] } }) } });
    const run = executor.run(plan);
    const events = collectEvents(run);
    const progress = lastProgress(run);
    await slow.waitForCalls(1);
    await until(() => events.some((e) => e.type === 'fragment.succeeded'), 'quick to succeed');
    run.cancel('enough');
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });

    expect(terminals(events)).toEqual({ quick: ['fragment.succeeded'], slow: ['fragment.cancelled'], after: ['fragment.skipped'] });
    expect(events.find((e) => e.type === 'fragment.cancelled')).toMatchObject({ fragmentId: 'slow', runId: run.runId, attempts: 1, calls: 1, rowCount: 0 });
    expect(events.find((e) => e.type === 'fragment.skipped')).toMatchObject({ fragmentId: 'after', because: 'slow' });
    expect(events.at(-1)!.type).toBe('query.failed');
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ total: 3, succeeded: 1, failed: 0, skipped: 1, cancelled: 1, running: 0, done: true });
    expect(last.succeeded + last.failed + last.skipped + last.cancelled).toBe(last.total);
  });

  it('does the same under fail-fast: the call the failure stopped is cancelled, not left without an end', async () => {
    const slow = testSource();
    const bad = testSource({ behaviour: () => sourceError('no such table', false) });
    executor = createExecutor({ cache: false, sources: { slow: slow.source, bad: bad.source, mem: memorySource({ tables: { t: [] } }) } });
    const run = executor.run({
      id: 'fail-fast',
      fragments: [
        { id: 'slow', source: 'slow', query: { key: 'slow' } },
        { id: 'bad', source: 'bad', query: { key: 'bad' } },
      ],
      merge: { op: 'union', inputs: ['slow', 'bad'] },
    });
    const events = collectEvents(run);
    const progress = lastProgress(run);
    const result = await run.result;
    expect(result.status).toBe('failed');
    expect(terminals(events)).toEqual({ slow: ['fragment.cancelled'], bad: ['fragment.failed'] });
    expect(result.fragments.slow!.status).toBe('cancelled');
    expect(progress.at(-1)).toMatchObject({ total: 2, failed: 1, cancelled: 1, done: true });
  });

  it('counts every fragment cancelled in the last progress of a run refused before it started', async () => {
    executor = createExecutor({ cache: false, sources: { mem: memorySource({ tables: { t: [] } }) }, authorize: async () => Promise.resolve('not today') });
    const run = executor.run({ id: 'refused', fragments: [{ id: 'a', source: 'mem', query: { table: 't' } }, { id: 'b', source: 'mem', query: { table: 't' } }], merge: { op: 'union', inputs: ['a', 'b'] } });
    const progress = lastProgress(run);
    await expect(run.result).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(progress.at(-1)).toMatchObject({ total: 2, succeeded: 0, cancelled: 2, done: true });
  });
});
