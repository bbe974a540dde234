import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, FragmentError, TributaryError, type Executor } from '../../src/index.js';
import { collectEvents, ofType, sourceError, testSource, until } from '../support/engine.js';

describe('error policies and cancellation', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  it('fail-fast: one failed fragment aborts its siblings’ calls and resolves status failed with its FragmentError', async () => {
    const src = testSource({ behaviour: (c) => (c.key === 'bad' ? sourceError('permission denied', false) : undefined) });
    executor = createExecutor({ sources: { s: src.source }, cache: false });
    const run = executor.run({
      fragments: [
        { id: 'sib1', source: 's', query: { key: 'sib1' } },
        { id: 'sib2', source: 's', query: { key: 'sib2' } },
        { id: 'bad', source: 's', query: { key: 'bad' } },
        { id: 'after', source: 's', dependsOn: ['sib1'], query: { key: 'after' } },
      ],
      merge: { op: 'union', inputs: ['sib2', 'bad', 'after'] },
    });
    const events = collectEvents(run);
    const result = await run.result;

    expect(result.status).toBe('failed');
    expect(result.rows).toEqual([]);
    expect(result.errors).toHaveLength(1);
    const error = result.errors[0] as FragmentError;
    expect(error).toBeInstanceOf(FragmentError);
    expect(error.name).toBe('FragmentError');
    expect(error).toMatchObject({ code: 'FRAGMENT_FAILED', fragmentId: 'bad', source: 's', attempt: 1, retryable: false });
    expect(error.message).toContain('permission denied');

    const siblings = src.calls.filter((c) => c.key.startsWith('sib'));
    expect(siblings).toHaveLength(2);
    for (const call of siblings) {
      expect(call.signal.aborted).toBe(true);
      expect(call.signal.reason).toBeInstanceOf(TributaryError);
      expect((call.signal.reason as TributaryError).code).toBe('CANCELLED');
    }
    expect(src.calls.some((c) => c.key === 'after')).toBe(false);
    expect(result.fragments.bad!.status).toBe('failed');
    expect(result.fragments.sib1!.status).toBe('cancelled');
    expect(result.fragments.after!.status).toBe('skipped');
    const failed = ofType(events, 'query.failed');
    expect(failed).toHaveLength(1);
    // The event carries the copy that may fan out (bound values masked, no driver cause); the result keeps the error itself.
    expect(failed[0]!.error).toMatchObject({ name: 'FragmentError', code: error.code, message: error.message, fragmentId: 'bad' });
    expect(failed[0]!.error.cause).toBeUndefined();
    expect(ofType(events, 'query.done')).toHaveLength(0);
  });

  it('fail-fast: fragments still waiting for a lane slot never call their source', async () => {
    const src = testSource({ behaviour: (c) => (c.key === 'first' ? sourceError('bad query', false) : [{ k: c.key }]) });
    executor = createExecutor({ sources: { s: src.source }, concurrency: 1, cache: false });
    const result = await executor.execute({
      fragments: ['first', 'second', 'third'].map((id) => ({ id, source: 's', query: { key: id } })),
      merge: { op: 'union', inputs: ['first', 'second', 'third'] },
    });
    expect(result.status).toBe('failed');
    expect(src.calls.map((c) => c.key)).toEqual(['first']);
    expect(executor.metrics().lanes.global).toMatchObject({ running: 0 });
  });

  it('partial: skips the dependents of a failed fragment and returns the other rows with the errors', async () => {
    const src = testSource({ behaviour: (c) => (c.key === 'bad' ? sourceError('no such table', false) : [{ from: c.key }]) });
    executor = createExecutor({ sources: { s: src.source }, cache: false });
    const run = executor.run({
      fragments: [
        { id: 'bad', source: 's', query: { key: 'bad' } },
        { id: 'good', source: 's', query: { key: 'good' } },
        { id: 'child', source: 's', dependsOn: ['bad'], query: { key: 'child' } },
        { id: 'grandchild', source: 's', dependsOn: ['child', 'good'], query: { key: 'grandchild' } },
        { id: 'other', source: 's', dependsOn: ['good'], query: { key: 'other' } },
      ],
      merge: { op: 'union', inputs: ['bad', 'good', 'child', 'grandchild', 'other'] },
      errorPolicy: 'partial',
    });
    const events = collectEvents(run);
    const result = await run.result;

    expect(result.status).toBe('partial');
    expect(result.rows).toEqual([{ from: 'good' }, { from: 'other' }]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ code: 'FRAGMENT_FAILED', fragmentId: 'bad', source: 's', attempt: 1, retryable: false });
    const skipped = ofType(events, 'fragment.skipped');
    expect(skipped.map((e) => [e.fragmentId, e.because]).sort()).toEqual([
      ['child', 'bad'],
      ['grandchild', 'bad'],
    ]);
    expect(src.calls.map((c) => c.key).sort()).toEqual(['bad', 'good', 'other']);
    expect(result.fragments.child!.status).toBe('skipped');
    expect(result.fragments.grandchild!.status).toBe('skipped');
    expect(result.fragments.other!.status).toBe('succeeded');
    const done = ofType(events, 'query.done');
    expect(done).toEqual([expect.objectContaining({ status: 'partial', rowCount: 2 })]);
  });

  it('run.cancel() rejects the result with CANCELLED and aborts every running source call', async () => {
    const src = testSource();
    executor = createExecutor({ sources: { s: src.source }, cache: false });
    const run = executor.run({
      fragments: [
        { id: 'a', source: 's', query: { key: 'a' } },
        { id: 'b', source: 's', query: { key: 'b' } },
        { id: 'c', source: 's', query: { key: 'c' } },
      ],
      merge: { op: 'union', inputs: ['a', 'b', 'c'] },
    });
    const events = collectEvents(run);
    await src.waitForCalls(3);
    run.cancel('user pressed stop');
    const error = await run.result.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TributaryError);
    expect(error).toMatchObject({ name: 'TributaryError', code: 'CANCELLED' });
    expect((error as Error).message).toContain('user pressed stop');
    expect(src.calls.map((c) => c.signal.aborted)).toEqual([true, true, true]);
    expect(src.calls.every((c) => (c.signal.reason as TributaryError).code === 'CANCELLED')).toBe(true);
    expect(ofType(events, 'query.failed')[0]!.error.code).toBe('CANCELLED');
    // A second cancel, after the end, changes nothing.
    run.cancel();
    await expect(run.result).rejects.toBe(error);
  });

  it('the caller’s AbortSignal cancels the run the same way', async () => {
    const src = testSource();
    executor = createExecutor({ sources: { s: src.source }, cache: false });
    const controller = new AbortController();
    const run = executor.run(
      {
        fragments: [
          { id: 'a', source: 's', query: { key: 'a' } },
          { id: 'b', source: 's', query: { key: 'b' } },
          { id: 'c', source: 's', dependsOn: ['a'], query: { key: 'c' } },
        ],
        merge: { op: 'union', inputs: ['b', 'c'] },
      },
      { signal: controller.signal },
    );
    await src.waitForCalls(2);
    controller.abort(new Error('client went away'));
    const error: unknown = await run.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TributaryError);
    expect(error).toMatchObject({ code: 'CANCELLED', message: expect.stringContaining('client went away') as string });
    expect(src.calls.map((c) => [c.key, c.signal.aborted])).toEqual([
      ['a', true],
      ['b', true],
    ]);
  });

  it('an already aborted signal cancels the run before any source call', async () => {
    const src = testSource({ behaviour: () => [{ x: 1 }] });
    executor = createExecutor({ sources: { s: src.source }, cache: false });
    const run = executor.run({ fragments: [{ id: 'a', source: 's', query: { key: 'a' } }] }, { signal: AbortSignal.abort('too late') });
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(src.calls).toHaveLength(0);
  });

  it('cancelling while a retry waits stops the retries', async () => {
    const src = testSource({ behaviour: () => sourceError('reset', true) });
    executor = createExecutor({ sources: { s: src.source }, retry: { attempts: 5, initialDelayMs: 60_000, jitter: 'none' }, cache: false });
    const run = executor.run({ fragments: [{ id: 'a', source: 's', query: { key: 'a' } }] });
    const events = collectEvents(run);
    await until(() => ofType(events, 'fragment.retrying').length === 1, 'the first retry to be scheduled');
    run.cancel();
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(src.calls).toHaveLength(1);
  });

  it('cancelling right after run(), before the actor starts, runs no source call', async () => {
    const src = testSource({ behaviour: () => [{ x: 1 }] });
    executor = createExecutor({ sources: { s: src.source }, cache: false });
    const run = executor.run({ fragments: [{ id: 'a', source: 's', query: { key: 'a' } }] });
    const events = collectEvents(run);
    run.cancel('changed my mind');
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED', message: 'the query was cancelled: changed my mind' });
    expect(src.calls).toHaveLength(0);
    // The fragment never ran, but still gets its one terminal event, its level announced before it.
    expect(events.map((e) => e.type)).toEqual(['query.started', 'level.started', 'fragment.cancelled', 'query.failed']);
    expect(events[2]).toMatchObject({ fragmentId: 'a', attempts: 0, calls: 0, startedAt: undefined });
  });

  it('a cancel reason that is an Error (run.cancel or the signal\'s) reads as its message and is kept as the cause', async () => {
    const src = testSource({ behaviour: () => [{ x: 1 }] });
    executor = createExecutor({ sources: { s: src.source }, cache: false });
    const plan = { fragments: [{ id: 'a', source: 's', query: { key: 'a' } }] };
    const why = new Error('the user left');
    const run = executor.run(plan);
    run.cancel(why);
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED', message: 'the query was cancelled: the user left', cause: why });
    const controller = new AbortController();
    const aborted = executor.run(plan, { signal: controller.signal });
    controller.abort(why);
    await expect(aborted.result).rejects.toMatchObject({ code: 'CANCELLED', message: 'the query was cancelled: the user left', cause: why });
    await expect(executor.execute(plan, { signal: AbortSignal.abort(why) })).rejects.toMatchObject({ code: 'CANCELLED', cause: why });
    expect(src.calls).toHaveLength(0);
  });

  it('turns a source that throws synchronously into a failed fragment', async () => {
    const src = testSource();
    src.source.execute = () => {
      throw new Error('sync boom');
    };
    executor = createExecutor({ sources: { s: src.source }, cache: false });
    const result = await executor.execute({ fragments: [{ id: 'a', source: 's', query: { key: 'a' } }] });
    expect(result.status).toBe('failed');
    expect(result.errors[0]).toMatchObject({ code: 'FRAGMENT_FAILED', fragmentId: 'a', attempt: 1 });
    expect(result.errors[0]!.message).toContain('sync boom');
  });

  it('reports a source that returns something other than rows as SOURCE_BAD_RESPONSE', async () => {
    const src = testSource({ behaviour: () => Promise.resolve({ not: 'rows' } as never) });
    executor = createExecutor({ sources: { s: src.source }, cache: false });
    const result = await executor.execute({ fragments: [{ id: 'a', source: 's', query: { key: 'a' } }] });
    expect(result.status).toBe('failed');
    expect(result.errors[0]).toMatchObject({ code: 'SOURCE_BAD_RESPONSE', fragmentId: 'a', source: 's' });
    // Named as registered, with its kind: the kind alone could be any of several sources.
    expect(result.errors[0]!.message).toContain(`source "s" (${src.source.kind}) returned neither rows nor an async iterable of rows`);
  });

  it.each([
    ['null', [{ x: 1 }, null], 'row 1 is null'],
    ['a number', [3], 'row 0 is number'],
    ['an array', [{ x: 1 }, { x: 2 }, [1, 2]], 'row 2 is an array'],
  ])('reports a source whose rows include %s as SOURCE_BAD_RESPONSE, whole or streamed, without retrying', async (_, rows, where) => {
    const whole = testSource({ behaviour: () => rows as never });
    const streamed = { ...whole.source, execute: () => (async function* () { yield [{ x: 0 }]; yield rows; })() as never };
    executor = createExecutor({ sources: { whole: whole.source, streamed }, cache: false });
    for (const source of ['whole', 'streamed']) {
      const result = await executor.execute({ fragments: [{ id: 'a', source, query: { key: 'a' }, retry: { attempts: 3 } }] });
      expect(result.status).toBe('failed');
      expect(result.errors[0]).toMatchObject({ code: 'SOURCE_BAD_RESPONSE', fragmentId: 'a', attempt: 1 });
      expect(result.errors[0]!.message).toContain(`source "${source}" (${whole.source.kind}) returned a row that is not an object (${where})`);
    }
    expect(whole.calls).toHaveLength(1);
  });

  it('reports a merge that cannot be evaluated as failed with MERGE_FAILED', async () => {
    const src = testSource({ behaviour: () => [{ x: 1 }] });
    executor = createExecutor({ sources: { s: src.source }, cache: false });
    const result = await executor.execute({
      fragments: [{ id: 'a', source: 's', query: { key: 'a' } }],
      merge: { op: 'project', input: 'a', columns: ['nope'] },
    });
    expect(result.status).toBe('failed');
    expect(result.errors.map((e) => e.code)).toEqual(['MERGE_FAILED']);
  });
});
