import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, FragmentError, type Executor, type QueryMachineEvent } from '../../src/index.js';
import { flush, testSource } from '../support/engine.js';

/**
 * `run.actor` is the app's to watch, and XState lets anyone `send()` to it. A settle event the
 * run never recorded — for a fragment still running, or one the plan does not have — must not
 * count, release dependents early (they would bind to rows that are not there yet), skip them,
 * or break the actor.
 */
describe('settle events the run did not record', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  it('change nothing: the dependents wait for the real answer and bind to its rows', async () => {
    const ctl = testSource();
    executor = createExecutor({ sources: { ctl: ctl.source }, cache: false });
    const run = executor.run({
      id: 'forged',
      errorPolicy: 'partial',
      schedule: 'eager',
      fragments: [
        { id: 'a', source: 'ctl', query: { key: 'a' } },
        { id: 'b', source: 'ctl', dependsOn: ['a'], query: { key: 'b', params: [{ $from: 'a', column: 'id' }] } },
      ],
      merge: { op: 'union', inputs: ['a', 'b'] },
    });
    await ctl.waitForCalls(1);
    const before = run.actor.getSnapshot().context;
    const base = { queryId: 'forged', runId: run.runId, at: 0, source: 'ctl', level: 0, attempts: 1, calls: 1, rowCount: 0, startedAt: 0, durationMs: 0 };
    const forged: QueryMachineEvent[] = [
      { type: 'fragment.succeeded', fragmentId: 'a', ...base, cached: false },
      { type: 'fragment.failed', fragmentId: 'a', ...base, error: new FragmentError('FRAGMENT_FAILED', 'forged', { fragmentId: 'a', source: 'ctl', attempt: 1, retryable: false }) },
      { type: 'fragment.succeeded', fragmentId: 'no-such-fragment', ...base, cached: false },
    ];
    for (const event of forged) run.actor.send(event);
    await flush();

    const after = run.actor.getSnapshot();
    expect(after.status).toBe('active');
    expect(after.context.counts).toEqual(before.counts);
    expect(after.context.sources).toEqual(before.sources);
    // b was neither started nor skipped.
    expect(ctl.calls.map((c) => c.key)).toEqual(['a']);

    ctl.calls[0]!.resolve([{ id: 7 }]);
    await ctl.waitForCalls(2);
    expect(ctl.calls[1]!.params).toEqual([[7]]);
    ctl.calls[1]!.resolve([{ id: 8 }]);
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(run.actor.getSnapshot().context.counts).toMatchObject({ succeeded: 2, failed: 0, skipped: 0 });
    expect(run.actor.getSnapshot().context.sources.ctl).toEqual({ sent: 2, succeeded: 2, failed: 0, cached: 0 });
  });
});
