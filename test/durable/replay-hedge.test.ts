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

describe('a recorded run with hedged requests, replayed', () => {
  it('replays the same hedge, the loser aborted and the winner’s rows', async () => {
    const executor = createExecutor({ sources: { api: source(true) }, cache: false, hedge: { afterMs: 100, maxExtraRatio: 1 } });
    let json: string;
    const events: ExecutionEvent[] = [];
    try {
      const run = executor.run(plan, { record: true });
      run.events$.subscribe((e) => events.push(e));
      expect((await run.result).rows).toEqual([{ key: 'fast' }, { key: 'slow' }]);
      json = JSON.stringify(run.recording());
    } finally {
      await executor.close();
    }
    expect(seen(events)).toContain('fragment.hedged slow');
    const recording = parseRecording(json);
    expect(recording.settings.hedge).toEqual({ afterMs: 100, maxExtraRatio: 1 });
    expect(recording.sources.api!.readOnly).toHaveLength(2);
    expect(recording.calls.filter((c) => c.fragmentId === 'slow').map((c) => c.outcome)).toEqual(['aborted', 'rows']);

    const replay = createExecutor().replay(json);
    const replayed: ExecutionEvent[] = [];
    replay.events$.subscribe((e) => replayed.push(e));
    const result = await replay.result;
    expect(result.rows).toEqual([{ key: 'fast' }, { key: 'slow' }]);
    expect(seen(replayed)).toEqual(seen(events));
  });

  it('a source without isReadOnly (hedged, as it does not say) records no read list, and its replay hedges the same', async () => {
    const executor = createExecutor({ sources: { api: source(false) }, cache: false, hedge: { afterMs: 100, maxExtraRatio: 1 } });
    let json: string;
    const events: ExecutionEvent[] = [];
    try {
      const run = executor.run(plan, { record: true });
      run.events$.subscribe((e) => events.push(e));
      await run.result;
      json = JSON.stringify(run.recording());
    } finally {
      await executor.close();
    }
    expect(seen(events)).toContain('fragment.hedged slow');
    const recording = parseRecording(json);
    expect(recording.sources.api!.readOnly).toBeUndefined();
    const replay = createExecutor().replay(json);
    const replayed: ExecutionEvent[] = [];
    replay.events$.subscribe((e) => replayed.push(e));
    expect((await replay.result).status).toBe('ok');
    expect(seen(replayed)).toEqual(seen(events));
  });

  it('a source whose isReadOnly says no to every call records an empty read list, and neither run hedges', async () => {
    const writes: SourceExecutor<{ key: string }> = { ...source(false), isReadOnly: () => false };
    const executor = createExecutor({ sources: { api: writes }, cache: false, hedge: { afterMs: 100, maxExtraRatio: 1 } });
    let json: string;
    const events: ExecutionEvent[] = [];
    try {
      const run = executor.run(plan, { record: true });
      run.events$.subscribe((e) => events.push(e));
      await run.result;
      json = JSON.stringify(run.recording());
    } finally {
      await executor.close();
    }
    expect(parseRecording(json).sources.api!.readOnly).toEqual([]);
    const replay = createExecutor().replay(json);
    const replayed: ExecutionEvent[] = [];
    replay.events$.subscribe((e) => replayed.push(e));
    expect((await replay.result).status).toBe('ok');
    expect([...events, ...replayed].some((e) => e.type === 'fragment.hedged')).toBe(false);
    expect(seen(replayed)).toEqual(seen(events));
  });
});
