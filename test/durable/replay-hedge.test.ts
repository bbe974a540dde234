import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, parseRecording, type ExecutionEvent, type SourceExecutor } from '../../src/index.js';

/** `slow`'s first call takes 400 ms, every other call 5 ms; calls stop when their signal fires. */
function source(reads: boolean): SourceExecutor<{ key: string }> {
  let slowCalls = 0;
  return {
    kind: 'tail',
    querySchema: z.object({ key: z.string() }),
    ...(reads ? { isReadOnly: () => true } : {}),
    execute: (query, ctx) =>
      new Promise((resolve, reject) => {
        const ms = query.key === 'slow' && ++slowCalls === 1 ? 400 : 5;
        const timer = setTimeout(() => resolve([{ key: query.key }]), ms);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(ctx.signal.reason);
        }, { once: true });
      }),
  };
}

const plan = {
  fragments: [
    { id: 'fast', source: 'api', query: { key: 'fast' } },
    { id: 'slow', source: 'api', query: { key: 'slow' } },
  ],
  merge: { op: 'union', inputs: ['fast', 'slow'] },
};

const seen = (events: ExecutionEvent[]) => events.map((e) => `${e.type}${'fragmentId' in e ? ` ${e.fragmentId}` : ''}`);

/** Runs the plan on `api` with hedging after 100 ms, recorded; its events, result and recording's JSON. */
async function recordRun(api: SourceExecutor<{ key: string }>) {
  const executor = createExecutor({ sources: { api }, cache: false, hedge: { afterMs: 100, maxExtraRatio: 1 } });
  const events: ExecutionEvent[] = [];
  try {
    const run = executor.run(plan, { record: true });
    run.events$.subscribe((e) => events.push(e));
    const result = await run.result;
    return { events, result, json: JSON.stringify(run.recording()) };
  } finally {
    await executor.close();
  }
}

/** Replays a recording with no sources; its events and result. */
async function replayRun(json: string) {
  const replay = createExecutor().replay(json);
  const events: ExecutionEvent[] = [];
  replay.events$.subscribe((e) => events.push(e));
  return { events, result: await replay.result };
}

describe('a recorded run with hedged requests, replayed', () => {
  it('replays the same hedge, the loser aborted and the winner’s rows', async () => {
    const { events, result, json } = await recordRun(source(true));
    expect(result.rows).toEqual([{ key: 'fast' }, { key: 'slow' }]);
    expect(seen(events)).toContain('fragment.hedged slow');
    const recording = parseRecording(json);
    expect(recording.settings.hedge).toEqual({ afterMs: 100, maxExtraRatio: 1 });
    expect(recording.sources.api!.readOnly).toHaveLength(2);
    expect(recording.calls.filter((c) => c.fragmentId === 'slow').map((c) => c.outcome)).toEqual(['aborted', 'rows']);

    const replayed = await replayRun(json);
    expect(replayed.result.rows).toEqual([{ key: 'fast' }, { key: 'slow' }]);
    expect(seen(replayed.events)).toEqual(seen(events));
  });

  it('a source without isReadOnly (hedged, as it does not say) records no read list, and its replay hedges the same', async () => {
    const { events, json } = await recordRun(source(false));
    expect(seen(events)).toContain('fragment.hedged slow');
    expect(parseRecording(json).sources.api!.readOnly).toBeUndefined();
    const replayed = await replayRun(json);
    expect(replayed.result.status).toBe('ok');
    expect(seen(replayed.events)).toEqual(seen(events));
  });

  it('a source whose isReadOnly says no to every call records an empty read list, and neither run hedges', async () => {
    const { events, json } = await recordRun({ ...source(false), isReadOnly: () => false });
    expect(parseRecording(json).sources.api!.readOnly).toEqual([]);
    const replayed = await replayRun(json);
    expect(replayed.result.status).toBe('ok');
    expect([...events, ...replayed.events].some((e) => e.type === 'fragment.hedged')).toBe(false);
    expect(seen(replayed.events)).toEqual(seen(events));
  });
});
