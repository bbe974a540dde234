import { describe, expect, it } from 'vitest';
import { createExecutor, createVirtualClock, parseRecording, type ExecutionEvent, type QueryRun } from '../../src/index.js';
import { A_ROWS, B_ROWS, gatedSource, twoFragmentPlan } from './fixtures/sources.js';

/** Each event's type and fragment, in order. */
function eventsOf(run: QueryRun): string[] {
  const out: string[] = [];
  run.events$.subscribe((e: ExecutionEvent) => out.push(`${e.type}${'fragmentId' in e ? ` ${e.fragmentId}` : ''}`));
  return out;
}

describe('a recording of a cancelled run', () => {
  it('replays to the same cancellation, at the same moment, for the same reason — not to a timeout of the call it cut short', async () => {
    const clock = createVirtualClock();
    const source = gatedSource({ a: A_ROWS, b: B_ROWS });
    source.hold('b');
    const executor = createExecutor({ sources: { db: source }, cache: false, clock, timeoutMs: 10_000 });
    const controller = new AbortController();
    const run = executor.run(twoFragmentPlan, { record: true, signal: controller.signal });
    const recordedEvents = eventsOf(run);
    await source.running('b');
    await clock.advanceAsync(1234);
    controller.abort(new Error('the user gave up, token=hunter2'));
    const recordedError: unknown = await run.result.catch((error: unknown) => error);
    expect(recordedError).toMatchObject({ code: 'CANCELLED', message: 'the query was cancelled: the user gave up, token=hunter2' });
    const json = JSON.stringify(run.recording());
    await executor.close();

    const recording = parseRecording(json);
    // When, on the run's clock, and why — masked like the error texts.
    expect(recording.cancelled).toEqual({ at: 1234, reason: 'the user gave up, token=***' });
    expect(recording.calls.map((c) => `${c.fragmentId} ${c.outcome}`)).toEqual(['a rows', 'b aborted']);

    const replay = createExecutor().replay(json);
    const replayedEvents = eventsOf(replay);
    const replayedError: unknown = await replay.result.catch((error: unknown) => error);
    expect(replayedError).toMatchObject({ code: 'CANCELLED', message: 'the query was cancelled: the user gave up, token=***' });
    expect(replayedEvents).toEqual(recordedEvents);
    const cancelledAt = (events: QueryRun): Promise<number | undefined> =>
      new Promise((resolve) => {
        events.events$.subscribe({ next: (e) => e.type === 'query.failed' && resolve(e.at), complete: () => resolve(undefined) });
      });
    const again = createExecutor().replay(json);
    expect(await cancelledAt(again)).toBe(1234);
    await again.result.catch(() => undefined);
  });
});
