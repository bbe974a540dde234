import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, createVirtualClock, memorySource, type ExecutionEvent, type Row, type SourceExecutor, type VirtualClock } from '../../src/index.js';

/**
 * The engine's own time before a fragment starts — a process's first run builds the query
 * machine for its plan's shape and compiles the whole path, tens of milliseconds on a busy
 * machine — counts against the query's deadline, but never fails a fragment untried: an
 * instant fragment still answers; one that has to wait is cut at the next turn of the event
 * loop. The engine's time is simulated on the virtual clock: the first inspection event
 * (XState creating the query actor, inside `run()`) moves the clock by `coldMs`.
 */
function coldStart(clock: VirtualClock, coldMs: number): { inspect: () => void } {
  let cold = true;
  return {
    inspect: () => {
      if (!cold) return;
      cold = false;
      clock.advance(coldMs);
    },
  };
}

/** A source whose calls each wait `ms` of virtual time; every call's signal and budget are kept. */
function waiting(clock: VirtualClock, ms: number) {
  const calls: { signal: AbortSignal; budgetMs: number | undefined }[] = [];
  const source: SourceExecutor<Record<string, never>> = {
    kind: 'waiting',
    querySchema: z.strictObject({}) as never,
    execute(_query, ctx) {
      calls.push({ signal: ctx.signal, budgetMs: ctx.budgetMs });
      return new Promise<Row[]>((resolve, reject) => {
        const timer = clock.setTimeout(() => resolve([{ waited: ms }]), ms);
        ctx.signal.addEventListener('abort', () => {
          clock.clearTimeout(timer);
          reject(ctx.signal.reason as Error);
        });
      });
    },
  };
  return { source, calls };
}

describe('the engine’s own time under a query deadline (virtual clock)', () => {
  it('a lone instant fragment succeeds under a 20 ms deadline though the engine took 25 ms to start it', async () => {
    const clock = createVirtualClock();
    const executor = createExecutor({ sources: { m: memorySource({ tables: { t: [{ a: 1 }] } }) }, clock, ...coldStart(clock, 25) });
    try {
      const events: ExecutionEvent[] = [];
      const run = executor.run({ fragments: [{ id: 'f', source: 'm', query: { table: 't' } }] }, { deadlineMs: 20 });
      run.events$.subscribe((e) => events.push(e));
      // The overdue timers (the query's, the fragment's) fire at the next turn of the loop.
      await clock.advanceAsync(0);
      const result = await run.result;
      expect(events.find((e) => e.type === 'fragment.queued')?.at).toBe(25);
      expect(result.status).toBe('ok');
      expect(result.errors).toEqual([]);
      expect(result.rows).toEqual([{ a: 1 }]);
      expect(result.fragments.f).toMatchObject({ status: 'succeeded', attempts: 1, calls: 1, budgetMs: 0 });
      expect(result.completeness.complete).toBe(true);
    } finally {
      await executor.close();
    }
  });

  it('a chain of instant fragments started past the deadline all answer', async () => {
    const clock = createVirtualClock();
    const tables = { t: [{ id: 1 }, { id: 2 }] };
    const executor = createExecutor({ sources: { up: memorySource({ tables }), low: memorySource({ tables }) }, clock, cache: false, ...coldStart(clock, 30) });
    try {
      const run = executor.run(
        {
          fragments: [
            { id: 'a', source: 'up', query: { table: 't' } },
            { id: 'b', source: 'low', query: { table: 't', where: { eq: ['id', 2] } }, dependsOn: ['a'] },
          ],
          merge: { op: 'union', inputs: ['a', 'b'] },
        },
        { deadlineMs: 20 },
      );
      await clock.advanceAsync(0);
      const result = await run.result;
      expect(result.status).toBe('ok');
      expect(result.rows).toEqual([{ id: 1 }, { id: 2 }, { id: 2 }]);
    } finally {
      await executor.close();
    }
  });

  it('a fragment started past the deadline that has to wait is called, then cut with TIMEOUT at the next turn', async () => {
    const clock = createVirtualClock();
    const slow = waiting(clock, 5);
    const executor = createExecutor({ sources: { s: slow.source }, clock, cache: false, ...coldStart(clock, 25) });
    try {
      const run = executor.run({ fragments: [{ id: 'f', source: 's', query: {} }] }, { deadlineMs: 20 });
      await clock.advanceAsync(0);
      const result = await run.result;
      expect(slow.calls).toHaveLength(1);
      expect(slow.calls[0]!.budgetMs).toBe(1);
      expect(slow.calls[0]!.signal.aborted).toBe(true);
      expect(clock.now()).toBe(25);
      expect(result.status).toBe('failed');
      expect(result.errors[0]).toMatchObject({ code: 'TIMEOUT', fragmentId: 'f' });
      expect(result.errors[0]!.message).toBe(`fragment "f" had not finished at the query's 20 ms deadline`);
    } finally {
      await executor.close();
    }
  });

  it('an optional fragment started past the deadline that has to wait is dropped at the next turn', async () => {
    const clock = createVirtualClock();
    const slow = waiting(clock, 5);
    const executor = createExecutor({ sources: { s: slow.source, m: memorySource({ tables: { t: [{ a: 1 }] } }) }, clock, cache: false, ...coldStart(clock, 25) });
    try {
      const run = executor.run(
        {
          fragments: [
            { id: 'slow', source: 's', query: {}, optional: true },
            { id: 'instant', source: 'm', query: { table: 't' } },
          ],
          merge: { op: 'union', inputs: ['slow', 'instant'] },
        },
        { deadlineMs: 20 },
      );
      await clock.advanceAsync(0);
      const result = await run.result;
      expect(slow.calls).toHaveLength(1);
      expect(slow.calls[0]!.signal.aborted).toBe(true);
      expect(result.status).toBe('partial');
      expect(result.rows).toEqual([{ a: 1 }]);
      expect(result.fragments.instant!.status).toBe('succeeded');
      expect(result.completeness.fragments.slow).toMatchObject({ status: 'dropped', reason: 'deadline' });
    } finally {
      await executor.close();
    }
  });
});
