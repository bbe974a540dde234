import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, createVirtualClock, memorySource, type Executor, type QueryRun, type Row } from '../../src/index.js';
import { onePlan, probeSource, until, type Probe } from './helpers.js';

let executor: Executor | undefined;
afterEach(async () => {
  await executor?.close();
  executor = undefined;
});

/** A plan over two sources, `a` and `b`, joined by nothing: the result is both fragments' rows. */
const twoSourcePlan = {
  id: 'two',
  fragments: [
    { id: 'fa', source: 'a', query: { table: 'ta' } },
    { id: 'fb', source: 'b', query: { table: 'tb' } },
  ],
  merge: { op: 'union', inputs: ['fa', 'fb'] },
};

/** The fragments of `run` whose source calls started, sorted: filled as the run goes. */
function collectStarts(run: QueryRun): string[] {
  const ids: string[] = [];
  run.events$.subscribe((e) => {
    if (e.type === 'fragment.started') ids.push(e.fragmentId);
    ids.sort();
  });
  return ids;
}

function gated(): { a: Probe; b: Probe } {
  return { a: probeSource({ answer: () => 'wait' }), b: probeSource({ answer: () => 'wait' }) };
}

describe('in-flight sharing', () => {
  it('calls each source once for two concurrent runs of the same plan, and both get every row', async () => {
    const { a, b } = gated();
    executor = createExecutor({ sources: { a: a.source, b: b.source } });
    const r1 = executor.run(twoSourcePlan);
    const r2 = executor.run(twoSourcePlan);
    const started = { r1: collectStarts(r1), r2: collectStarts(r2) };
    await until(() => a.calls.length === 1 && b.calls.length === 1 && executor!.cache.stats().inflightShared === 2);
    a.calls[0]!.resolve([{ v: 'a1' }, { v: 'a2' }]);
    b.calls[0]!.resolve([{ v: 'b1' }]);
    const [x, y] = await Promise.all([r1.result, r2.result]);
    for (const r of [x, y]) {
      expect(r.status).toBe('ok');
      expect(r.rows).toEqual([{ v: 'a1' }, { v: 'a2' }, { v: 'b1' }]);
      expect(r.fragments.fa!.cached).toBe(false);
    }
    // The first run's fragments made the calls; the second's joined them and made none.
    expect(x.fragments.fa).toMatchObject({ calls: 1, attempts: 1 });
    expect(y.fragments.fa).toMatchObject({ calls: 0, attempts: 0, rowCount: 2 });
    expect([x.stats.rowsFetched, y.stats.rowsFetched]).toEqual([3, 0]);
    expect(started).toEqual({ r1: ['fa', 'fb'], r2: [] });
    expect(a.calls).toHaveLength(1);
    expect(b.calls).toHaveLength(1);
    expect(executor.cache.stats()).toMatchObject({ inflightShared: 2, misses: 4, hits: 0, entries: 2 });
  });

  it('keeps the shared call running when one of two runs is cancelled: the other completes', async () => {
    const { a, b } = gated();
    executor = createExecutor({ sources: { a: a.source, b: b.source } });
    const r1 = executor.run(twoSourcePlan);
    const r2 = executor.run(twoSourcePlan);
    await until(() => a.calls.length === 1 && b.calls.length === 1 && executor!.cache.stats().inflightShared === 2);
    r1.cancel('the first caller left');
    await expect(r1.result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(a.calls[0]!.signal.aborted).toBe(false);
    expect(b.calls[0]!.signal.aborted).toBe(false);
    a.calls[0]!.resolve([{ v: 'a1' }]);
    b.calls[0]!.resolve([{ v: 'b1' }]);
    const r = await r2.result;
    expect(r.status).toBe('ok');
    expect(r.rows).toEqual([{ v: 'a1' }, { v: 'b1' }]);
    expect(a.calls).toHaveLength(1);
    // and the result was stored for later runs
    expect((await executor.execute(twoSourcePlan)).stats.cacheHits).toBe(2);
  });

  it('aborts the shared call when every run waiting on it is cancelled, and stores nothing', async () => {
    const { a, b } = gated();
    executor = createExecutor({ sources: { a: a.source, b: b.source } });
    const r1 = executor.run(twoSourcePlan);
    const r2 = executor.run(twoSourcePlan);
    await until(() => a.calls.length === 1 && b.calls.length === 1 && executor!.cache.stats().inflightShared === 2);
    r2.cancel();
    expect(a.calls[0]!.signal.aborted).toBe(false);
    r1.cancel();
    await Promise.allSettled([r1.result, r2.result]);
    expect(a.calls[0]!.signal.aborted).toBe(true);
    expect(b.calls[0]!.signal.aborted).toBe(true);
    expect(executor.cache.stats().entries).toBe(0);
    // a later run starts afresh
    const r3 = executor.run(twoSourcePlan);
    await until(() => a.calls.length === 2 && b.calls.length === 2);
    a.calls[1]!.resolve([{ v: 'a' }]);
    b.calls[1]!.resolve([{ v: 'b' }]);
    expect((await r3.result).rows).toEqual([{ v: 'a' }, { v: 'b' }]);
  });

  it('shares identical fragments within one query', async () => {
    const probe = probeSource({ answer: () => [{ n: 1 }] });
    executor = createExecutor({ sources: { p: probe.source } });
    const r = await executor.execute({
      fragments: [
        { id: 'x', source: 'p', query: { table: 't', columns: ['n'] } },
        { id: 'y', source: 'p', query: { columns: ['n'], table: 't' } },
      ],
      merge: { op: 'union', inputs: ['x', 'y'] },
    });
    expect(r.rows).toEqual([{ n: 1 }, { n: 1 }]);
    expect(probe.calls).toHaveLength(1);
    expect(executor.cache.stats().inflightShared).toBe(1);
    // One call, one row fetched: the fragment that joined reports no call of its own.
    expect([r.fragments.x!.calls, r.fragments.y!.calls]).toEqual([1, 0]);
    expect(r.stats.rowsFetched).toBe(1);
  });

  it('respects scope: concurrent runs of different principals share only a shared source', async () => {
    const scoped = probeSource({ answer: () => 'wait' });
    const shared = probeSource({ answer: () => 'wait', cacheScope: 'shared' });
    executor = createExecutor({ sources: { s: scoped.source, sh: shared.source } });
    const runs = [{ id: 'alice' }, { id: 'bob' }, undefined].flatMap((principal) => [
      executor!.run(onePlan('s', { table: 't' }), principal ? { principal } : {}),
      executor!.run(onePlan('sh', { table: 't' }), principal ? { principal } : {}),
    ]);
    await until(() => scoped.calls.length === 3 && shared.calls.length === 1 && executor!.cache.stats().inflightShared === 2);
    expect(scoped.calls.map((c) => c.principal?.id)).toEqual(['alice', 'bob', undefined]);
    for (const c of scoped.calls) c.resolve([{ who: c.principal?.id ?? null }]);
    shared.calls[0]!.resolve([{ who: 'anyone' }]);
    const results = await Promise.all(runs.map((r) => r.result));
    expect(results.map((r) => r.rows[0]!.who)).toEqual(['alice', 'anyone', 'bob', 'anyone', null, 'anyone']);
  });

  it("tags the entry with the tags of every fragment that shared the load, so invalidating a joiner's tag reaches it", async () => {
    const probe = probeSource({ answer: () => 'wait' });
    executor = createExecutor({ sources: { p: probe.source } });
    const untagged = onePlan('p', { table: 't' });
    const tagged = onePlan('p', { table: 't' }, { cache: { tags: ['orders'] } });
    const first = executor.run(untagged);
    const joiner = executor.run(tagged);
    await until(() => probe.calls.length === 1 && executor!.cache.stats().inflightShared === 1);
    probe.calls[0]!.resolve([{ v: 1 }]);
    await Promise.all([first.result, joiner.result]);
    expect(await executor.cache.invalidate({ tag: 'orders' })).toEqual({ local: 1, shared: 0 });
    const again = executor.run(tagged);
    await until(() => probe.calls.length === 2);
    probe.calls[1]!.resolve([{ v: 2 }]);
    const result = await again.result;
    expect(result.fragments.f!.cached).toBe(false);
    expect(result.rows).toEqual([{ v: 2 }]);
  });

  it('shares a load only between runs under the same row limits: a bound one run exceeds never fails another', async () => {
    const table = memorySource({ tables: { t: [{ x: 1 }, { x: 2 }, { x: 3 }] } });
    let calls = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    executor = createExecutor({
      sources: {
        m: {
          ...table,
          execute: async (query, ctx) => {
            calls++;
            await gate;
            return table.execute(query, ctx) as Promise<Row[]>;
          },
        },
      },
      retry: { attempts: 1 },
    });
    const fragments = [{ id: 'f', source: 'm', query: { table: 't' } }];
    const bounded = executor.run({ id: 'bounded', fragments, limits: { maxRows: 1 } });
    const free = executor.run({ id: 'free', fragments });
    await until(() => calls === 2);
    open();
    const [b, f] = await Promise.all([bounded.result, free.result]);
    expect(b.errors.map((e) => e.code)).toEqual(['LIMIT_EXCEEDED']);
    expect(f.status).toBe('ok');
    expect(f.rows).toEqual([{ x: 1 }, { x: 2 }, { x: 3 }]);
    expect(executor.cache.stats().inflightShared).toBe(0);
  });

  it("does not hand a run without a deadline a load cut to another run's budget", async () => {
    const budgets: (number | undefined)[] = [];
    const probe = probeSource({
      answer: (_query, ctx) => {
        budgets.push(ctx.budgetMs);
        return 'wait';
      },
    });
    executor = createExecutor({ sources: { p: probe.source }, clock: createVirtualClock() });
    const plan = onePlan('p', { table: 't' });
    const hurried = executor.run(plan, { deadlineMs: 1000 });
    const patient = executor.run(plan);
    await until(() => probe.calls.length === 2);
    // The hurried run's call carries its 1 s budget (a SQL source turns it into a statement
    // timeout); the patient run makes its own call, bounded by the 10 s timeout alone.
    expect(budgets).toEqual([1000, 10_000]);
    for (const call of probe.calls) call.resolve([{ v: 1 }]);
    const [h, p] = await Promise.all([hurried.result, patient.result]);
    expect([h.status, p.status]).toEqual(['ok', 'ok']);
    expect(executor.cache.stats().inflightShared).toBe(0);
  });

  it('gives every waiting run the failure of a shared call that failed, and stores nothing', async () => {
    const probe = probeSource({ answer: () => 'wait' });
    executor = createExecutor({ sources: { p: probe.source }, retry: { attempts: 1 } });
    const plan = onePlan('p', { table: 't' });
    const r1 = executor.run(plan);
    const r2 = executor.run(plan);
    await until(() => probe.calls.length === 1 && executor!.cache.stats().inflightShared === 1);
    probe.calls[0]!.reject(Object.assign(new Error('boom'), { retryable: false }));
    const [x, y] = await Promise.all([r1.result, r2.result]);
    expect([x.status, y.status]).toEqual(['failed', 'failed']);
    expect(executor.cache.stats().entries).toBe(0);
  });
});
