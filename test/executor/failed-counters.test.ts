import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, createVirtualClock, type Executor, type Row, type SourceExecutor, type VirtualClock } from '../../src/index.js';
import { collectEvents, ofType, sourceError, testSource } from '../support/engine.js';

/** Streams `good` batches of 10 rows `{ n }`, then fails (not retryable); all at once it just fails. */
function breaksAfter(good: number): SourceExecutor<{ from: number }> {
  return {
    kind: 'breaks',
    querySchema: z.strictObject({ from: z.number() }),
    execute(query, ctx) {
      if (!ctx.stream) return Promise.reject(sourceError('the server went away', false));
      return (async function* () {
        for (let b = 0; b < good; b++) {
          await new Promise((r) => setImmediate(r));
          yield Array.from({ length: 10 }, (_, i): Row => ({ n: query.from + b * 10 + i }));
        }
        throw sourceError('the server went away', false);
      })();
    },
  };
}

describe('a failed fragment keeps its counters', () => {
  let executor: Executor | undefined;
  let clock: VirtualClock;
  beforeEach(() => {
    clock = createVirtualClock();
  });
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  it('reports every call its failed tries made, in the failed event and in the result', async () => {
    const src = testSource({ behaviour: () => sourceError('connection reset', true) });
    executor = createExecutor({ sources: { s: src.source }, retry: { attempts: 3, initialDelayMs: 100, jitter: 'none' }, cache: false, clock });
    const run = executor.run({ errorPolicy: 'partial', fragments: [{ id: 'f', source: 's', query: { key: 'f' } }] });
    const events = collectEvents(run);
    await clock.advanceAsync(1000);
    const result = await run.result;
    expect(src.calls).toHaveLength(3);
    expect(result.fragments.f).toMatchObject({ status: 'failed', attempts: 3, calls: 3, durationMs: 300 });
    expect(ofType(events, 'fragment.failed')[0]).toMatchObject({ attempts: 3, calls: 3, rowCount: 0, durationMs: 300 });
  });

  it('counts the rows it streamed before it failed', async () => {
    executor = createExecutor({ sources: { b: breaksAfter(3) }, retry: { attempts: 3 }, cache: false });
    const run = executor.run({ errorPolicy: 'partial', fragments: [{ id: 'f', source: 'b', query: { from: 0 } }] });
    const events = collectEvents(run);
    let read = 0;
    for await (const batch of run.rows()) read += batch.length;
    const result = await run.result;
    expect(read).toBe(30);
    expect(result.fragments.f).toMatchObject({ status: 'failed', rowCount: 30, calls: 1 });
    expect(ofType(events, 'fragment.failed')[0]).toMatchObject({ rowCount: 30, calls: 1 });
  });

  it('reports the time and calls of a fragment a fail-fast stop cancelled', async () => {
    const src = testSource();
    executor = createExecutor({ sources: { s: src.source }, cache: false, retry: { attempts: 1 }, clock });
    const run = executor.run({
      fragments: [
        { id: 'waits', source: 's', query: { key: 'waits' } },
        { id: 'bad', source: 's', query: { key: 'bad' } },
      ],
      merge: { op: 'union', inputs: ['waits', 'bad'] },
    });
    await src.waitForCalls(2);
    await clock.advanceAsync(250);
    src.calls.find((c) => c.key === 'bad')!.reject(sourceError('relation does not exist', false));
    const result = await run.result;
    expect(result.status).toBe('failed');
    expect(result.fragments.waits).toMatchObject({ status: 'cancelled', calls: 1, durationMs: 250 });
    expect(result.completeness.fragments.waits).toMatchObject({ status: 'cancelled', reason: 'cancelled', usedMs: 250 });
  });

  describe('rows a fragment streamed before the run stopped it', () => {
    /** Streams one batch of 10 rows after 50 ms (virtual), then never another; its signal ends it. */
    const stalls = (): SourceExecutor<{ name: string; fail?: boolean }> => ({
      kind: 'stalls',
      querySchema: z.strictObject({ name: z.string(), fail: z.boolean().optional() }),
      execute(query, ctx) {
        const wait = (ms: number) =>
          new Promise<void>((resolve, reject) => {
            const t = clock.setTimeout(resolve, ms);
            ctx.signal.addEventListener('abort', () => (clock.clearTimeout(t), reject(ctx.signal.reason)), { once: true });
          });
        if (query.fail) return wait(100).then(() => Promise.reject(sourceError('permission denied', false)));
        return (async function* () {
          await wait(50);
          yield Array.from({ length: 10 }, (_, i): Row => ({ name: query.name, n: i }));
          await wait(1e9);
        })();
      },
    });

    async function read(run: ReturnType<Executor['run']>) {
      let rows = 0;
      const reading = (async () => {
        for await (const batch of run.rows()) rows += batch.length;
      })().catch(() => undefined);
      await clock.advanceAsync(400);
      await reading;
      return rows;
    }

    for (const optional of [false, true]) {
      it(`counts them when the query's deadline stopped it (${optional ? 'optional: dropped' : 'required: failed'})`, async () => {
        executor = createExecutor({ sources: { s: stalls() }, cache: false, clock });
        const run = executor.run({ errorPolicy: 'partial', fragments: [{ id: 'f', source: 's', query: { name: 'f' }, ...(optional ? { optional: true } : {}) }] }, { deadlineMs: 200 });
        const events = collectEvents(run);
        expect(await read(run)).toBe(10);
        const result = await run.result;
        expect(result.fragments.f).toMatchObject({ status: optional ? 'dropped' : 'failed', rowCount: 10 });
        expect(events.find((e) => e.type === 'fragment.dropped' || e.type === 'fragment.failed')).toMatchObject({ rowCount: 10 });
      });
    }

    it('counts them when a fail-fast stop cancelled it', async () => {
      executor = createExecutor({ sources: { s: stalls() }, cache: false, clock, retry: { attempts: 1 } });
      const run = executor.run({
        fragments: [
          { id: 'f', source: 's', query: { name: 'f' } },
          { id: 'bad', source: 's', query: { name: 'bad', fail: true } },
        ],
        merge: { op: 'union', inputs: ['f', 'bad'] },
      });
      expect(await read(run)).toBe(10);
      const result = await run.result;
      expect(result.status).toBe('failed');
      expect(result.fragments.f).toMatchObject({ status: 'cancelled', rowCount: 10 });
    });
  });
});
