import { describe, expect, it } from 'vitest';
import { createExecutor, createVirtualClock, memorySource, TributaryError, type Plan, type Row } from '../../src/index.js';
import { hanging, settles } from '../support/hanging-source.js';

/**
 * Leaving `run.rows()` early (a `break`) while a fragment has not delivered a batch yet: the
 * fragment is stopped at once (its call aborted, or withdrawn from its lane), every fragment
 * that only fed the stream is not called any more, and the run resolves `ok`, cut short
 * (`consumer-left`). Time never moves here (a virtual clock nobody advances): a run that
 * waited for a timeout would never end, and `settles` says so.
 */

function executorWith(h: ReturnType<typeof hanging>) {
  const mem = memorySource({ tables: { t: [{ name: 'm1' }, { name: 'm2' }] } });
  return createExecutor({ sources: { mem, h: h.source }, clock: createVirtualClock(), cache: false });
}

/** Reads the first batch of `run.rows()`, then leaves. */
async function firstBatch(rows: AsyncIterable<Row[]>): Promise<Row[]> {
  for await (const batch of rows) return batch;
  return [];
}

describe('leaving run.rows() early', () => {
  it('stops a fragment whose call never settles, and the run resolves ok with it cut short', async () => {
    const h = hanging();
    const executor = executorWith(h);
    const run = executor.run({
      fragments: [
        { id: 'm', source: 'mem', query: { table: 't' } },
        { id: 'slow', source: 'h', query: { name: 'slow' } },
      ],
      merge: { op: 'union', inputs: ['m', 'slow'] },
    });
    expect(await firstBatch(run.rows())).toEqual([{ name: 'm1' }, { name: 'm2' }]);
    expect(await settles(run.result)).toBe(true);
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.errors).toEqual([]);
    expect(result.completeness).toEqual({
      complete: false,
      fragments: { slow: { status: 'succeeded', reason: 'consumer-left', rowsMayBeMissing: true, attempts: 1, cached: false, usedMs: expect.any(Number) } },
    });
    // Its call was aborted, saying why.
    expect(h.aborts).toHaveLength(1);
    expect(h.aborts[0]!.reason).toBeInstanceOf(TributaryError);
    expect((h.aborts[0]!.reason as TributaryError).code).toBe('CANCELLED');
    expect((h.aborts[0]!.reason as Error).message).toMatch(/reader of run\.rows\(\) left/);
    await executor.close();
  });

  it('withdraws a call still waiting in its lane: it is never made, and the slot is free for the next run', async () => {
    const h = hanging();
    const executor = executorWith(h);
    const run = executor.run({
      fragments: [
        { id: 'm', source: 'mem', query: { table: 't' } },
        // The source runs one call at a time: 'second' waits in the lane behind 'first'.
        { id: 'first', source: 'h', query: { name: 'first' } },
        { id: 'second', source: 'h', query: { name: 'second' } },
      ],
      merge: { op: 'union', inputs: ['m', 'first', 'second'] },
    });
    await firstBatch(run.rows());
    expect(await settles(run.result)).toBe(true);
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(h.calls).toEqual(['first']);
    expect(result.completeness.fragments.first).toMatchObject({ status: 'succeeded', reason: 'consumer-left', attempts: 1 });
    expect(result.completeness.fragments.second).toMatchObject({ status: 'succeeded', reason: 'consumer-left', attempts: 0 });
    // The lane's only slot was handed back: another run's call goes through.
    const next = executor.execute({ fragments: [{ id: 'x', source: 'h', query: { name: 'next', answer: true } }] });
    expect(await settles(next)).toBe(true);
    expect((await next).rows).toEqual([{ name: 'next' }]);
    await executor.close();
  });

  it('stops what only fed the stream: a join’s right side, and a fragment another binds — which is then never called', async () => {
    const h = hanging();
    const executor = executorWith(h);
    const plan: Plan = {
      fragments: [
        { id: 'm', source: 'mem', query: { table: 't' } },
        // A join's right side, materialized: it never settles, so the probe side waits.
        { id: 'probe', source: 'mem', query: { table: 't' } },
        { id: 'right', source: 'h', query: { name: 'right' } },
        // 'bound' binds the rows of 'upstream', which never settles.
        { id: 'upstream', source: 'h', query: { name: 'upstream' } },
        { id: 'bound', source: 'h', dependsOn: ['upstream'], query: { name: 'bound', answer: true, ids: { $from: 'upstream', column: 'name' } } },
      ],
      merge: { op: 'union', inputs: ['m', { op: 'join', type: 'inner', left: 'probe', right: 'right', on: [['name', 'name']] }, 'bound'] },
    };
    const run = executor.run(plan);
    expect(await firstBatch(run.rows())).toEqual([{ name: 'm1' }, { name: 'm2' }]);
    expect(await settles(run.result)).toBe(true);
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.errors).toEqual([]);
    // 'right' ran (one slot), 'upstream' waited in the lane: withdrawn; 'bound' was never bound nor called.
    expect(h.calls).toEqual(['right']);
    const { fragments } = result.completeness;
    expect(result.completeness.complete).toBe(false);
    expect(fragments.right).toMatchObject({ status: 'succeeded', reason: 'consumer-left', rowsMayBeMissing: true, attempts: 1 });
    expect(fragments.upstream).toMatchObject({ status: 'succeeded', reason: 'consumer-left', rowsMayBeMissing: true, attempts: 0 });
    expect(fragments.bound).toMatchObject({ status: 'succeeded', reason: 'consumer-left', rowsMayBeMissing: true, attempts: 0 });
    expect(fragments.m).toBeUndefined();
    await executor.close();
  });

  it('tells a fragment cut short by the leaving (consumer-left) from one a satisfied limit had stopped (limit-stopped)', async () => {
    const h = hanging();
    const executor = executorWith(h);
    const run = executor.run({
      fragments: [
        { id: 'm', source: 'mem', query: { table: 't' } },
        { id: 'slow', source: 'h', query: { name: 'slow' } },
      ],
      merge: { op: 'union', inputs: [{ op: 'limit', n: 1, input: 'm' }, 'slow'] },
    });
    expect(await firstBatch(run.rows())).toEqual([{ name: 'm1' }]);
    expect(await settles(run.result)).toBe(true);
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.completeness.fragments.slow).toMatchObject({ reason: 'consumer-left', rowsMayBeMissing: true });
    expect(result.completeness.fragments.m).toMatchObject({ reason: 'limit-stopped', rowsMayBeMissing: false });
    await executor.close();
  });
});
