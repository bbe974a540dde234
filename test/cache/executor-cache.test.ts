import { afterEach, describe, expect, it, vi } from 'vitest';
import { createExecutor, createVirtualClock, TributaryError, type Executor, type Row } from '../../src/index.js';
import { collect, onePlan, probeSource, until } from './helpers.js';

let executor: Executor | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await executor?.close();
  executor = undefined;
});

const fail = (message: string): TributaryError => new TributaryError('FRAGMENT_FAILED', message, { retryable: false });

describe('the result cache in the executor', () => {
  it('serves a repeated fragment from the cache: a fragment.cached event, cached: true, one source call', async () => {
    const probe = probeSource();
    executor = createExecutor({ sources: { p: probe.source } });
    const first = await executor.execute(onePlan('p', { table: 't' }));
    const run = executor.run(onePlan('p', { table: 't' }));
    const events = collect(run);
    const second = await run.result;
    expect(probe.calls).toHaveLength(1);
    expect(first.fragments.f!.cached).toBe(false);
    expect(second.fragments.f!.cached).toBe(true);
    expect(second.fragments.f!.calls).toBe(0);
    expect(second.stats.cacheHits).toBe(1);
    expect(second.rows).toEqual(first.rows);
    expect(events.filter((e) => e.type === 'fragment.cached')).toEqual([expect.objectContaining({ fragmentId: 'f', source: 'p', rowCount: 1 })]);
    expect(executor.cache.stats()).toMatchObject({ hits: 1, misses: 1, entries: 1, inflightShared: 0 });
    expect(executor.cache.stats().bytes).toBeGreaterThan(0);
  });

  it('shares entries between plans that differ only in JSON key order', async () => {
    const probe = probeSource();
    executor = createExecutor({ sources: { p: probe.source } });
    await executor.execute(JSON.parse('{"id":"a","fragments":[{"id":"f","source":"p","query":{"table":"t","where":{"x":1,"y":[1,{"b":2,"a":1}]}}}]}'));
    const r = await executor.execute(JSON.parse('{"fragments":[{"query":{"where":{"y":[1,{"a":1,"b":2}],"x":1},"table":"t"},"source":"p","id":"f"}],"id":"a"}'));
    expect(r.fragments.f!.cached).toBe(true);
    expect(probe.calls).toHaveLength(1);
  });

  it('keeps entries apart for any difference in a bound value', async () => {
    const probe = probeSource();
    executor = createExecutor({ sources: { p: probe.source } });
    const plan = onePlan('p', { table: 't', value: { $param: 'v' } });
    for (const v of [1, '1', 1n, 1.5, null, true, [1], { a: 1 }, 1, '1', 1n]) await executor.execute(plan, { params: { v } });
    expect(probe.calls).toHaveLength(8);
    expect(executor.cache.stats()).toMatchObject({ hits: 3, misses: 8 });
  });

  it('keys bound upstream values: a different upstream result is another entry', async () => {
    let ids: Row[] = [{ id: 1 }, { id: 2 }];
    const up = probeSource({ answer: () => ids });
    const down = probeSource();
    executor = createExecutor({ sources: { up: up.source, down: down.source } });
    const plan = {
      fragments: [
        { id: 'ids', source: 'up', query: { table: 'ids' }, cache: false },
        { id: 'rows', source: 'down', dependsOn: ['ids'], query: { table: 'rows', ids: { $from: 'ids', column: 'id' } } },
      ],
      merge: 'rows',
    };
    await executor.execute(plan);
    expect((await executor.execute(plan)).fragments.rows!.cached).toBe(true);
    ids = [{ id: 1 }, { id: 3 }];
    expect((await executor.execute(plan)).fragments.rows!.cached).toBe(false);
    expect(down.calls.map((c) => (c.query as { ids: unknown }).ids)).toEqual([
      [1, 2],
      [1, 3],
    ]);
  });

  describe('bypass', () => {
    it.each([
      ['a fragment with cache: { ttlMs: 0 }', {}, { cache: { ttlMs: 0 } }, {}],
      ['a fragment with cache: false', {}, { cache: false }, {}],
      ['a plan with cache: false', { cache: false }, {}, {}],
      ['a plan with cache: { ttlMs: 0, tags }', { cache: { ttlMs: 0, tags: ['x'] } }, { cache: { tags: ['y'] } }, {}],
      ['an executor with cache: false', {}, {}, { cache: false as const }],
      ['an executor with ttlMs: 0', {}, {}, { cache: { ttlMs: 0 } }],
    ])('is complete for %s: no lookup, no store, no in-flight sharing', async (_name, planExtra, fragmentExtra, executorExtra) => {
      const probe = probeSource();
      executor = createExecutor({ sources: { p: probe.source }, ...executorExtra });
      const plan = { ...onePlan('p', { table: 't' }, fragmentExtra), ...planExtra };
      const [a, b] = await Promise.all([executor.execute(plan), executor.execute(plan)]);
      const c = await executor.execute(plan);
      expect(probe.calls).toHaveLength(3);
      expect([a, b, c].map((r) => r.fragments.f!.cached)).toEqual([false, false, false]);
      expect(executor.cache.stats()).toMatchObject({ hits: 0, entries: 0, inflightShared: 0 });
    });

    it('lets a fragment TTL re-enable what the plan turned off', async () => {
      const probe = probeSource();
      executor = createExecutor({ sources: { p: probe.source } });
      const plan = { ...onePlan('p', { table: 't' }, { cache: { ttlMs: 5000 } }), cache: false };
      await executor.execute(plan);
      expect((await executor.execute(plan)).fragments.f!.cached).toBe(true);
    });
  });

  describe('what is never stored', () => {
    it('a failed fragment', async () => {
      const probe = probeSource({ answer: (_q, _c, n) => (n === 1 ? fail('first call fails') : [{ ok: n }]) });
      executor = createExecutor({ sources: { p: probe.source } });
      const plan = onePlan('p', { table: 't' });
      expect((await executor.execute(plan)).status).toBe('failed');
      const second = await executor.execute(plan);
      expect(second).toMatchObject({ status: 'ok', rows: [{ ok: 2 }] });
      expect(second.fragments.f!.cached).toBe(false);
      expect((await executor.execute(plan)).fragments.f!.cached).toBe(true);
      expect(probe.calls).toHaveLength(2);
    });

    it('a partly fetched fragment (one batch of several failed), under errorPolicy partial', async () => {
      const up = probeSource({ answer: () => [{ id: 1 }, { id: 2 }, { id: 3 }] });
      let round = 1;
      const down = probeSource({
        answer: (q) => (round === 1 && (q as { ids: number[] }).ids.includes(2) ? fail('batch 2 fails') : (q as { ids: number[] }).ids.map((id) => ({ id }))),
      });
      executor = createExecutor({ sources: { up: up.source, down: down.source } });
      const plan = {
        errorPolicy: 'partial',
        fragments: [
          { id: 'ids', source: 'up', query: { table: 'ids' } },
          { id: 'rows', source: 'down', dependsOn: ['ids'], query: { ids: { $from: 'ids', column: 'id' } }, batch: { param: 0, size: 1 } },
          { id: 'other', source: 'up', query: { table: 'other' } },
        ],
        merge: { op: 'union', inputs: ['ids', 'other'] },
      };
      const first = await executor.execute(plan);
      expect(first.status).toBe('partial');
      expect(first.fragments.rows!.status).toBe('failed');
      expect(down.calls).toHaveLength(3);
      round = 2;
      const second = await executor.execute(plan);
      expect(second.status).toBe('ok');
      expect(second.fragments.ids!.cached).toBe(true);
      expect(second.fragments.rows!.cached).toBe(false);
      expect(down.calls).toHaveLength(6);
    });

    it('a cancelled fragment, even when its source answers after the cancel', async () => {
      const probe = probeSource({ answer: (_q, _c, n) => (n === 1 ? 'wait' : [{ n }]) });
      executor = createExecutor({ sources: { p: probe.source } });
      const plan = onePlan('p', { table: 't' });
      const run = executor.run(plan);
      await until(() => probe.calls.length === 1);
      run.cancel('test');
      await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(probe.calls[0]!.signal.aborted).toBe(true);
      probe.calls[0]!.resolve([{ n: 'late' }]);
      const next = await executor.execute(plan);
      expect(next.fragments.f!.cached).toBe(false);
      expect(next.rows).toEqual([{ n: 2 }]);
      expect(executor.cache.stats().entries).toBe(1);
    });

    it('a fragment whose rows are over the byte bound of the whole cache', async () => {
      const probe = probeSource({ answer: () => [{ s: 'x'.repeat(1000) }] });
      executor = createExecutor({ sources: { p: probe.source }, cache: { maxBytes: 1000 } });
      const plan = onePlan('p', { table: 't' });
      await executor.execute(plan);
      await executor.execute(plan);
      expect(probe.calls).toHaveLength(2);
    });
  });

  it('expires entries after ttlMs, the fragment TTL over the executor one (fake performance clock)', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const probe = probeSource();
    executor = createExecutor({ sources: { p: probe.source }, cache: { ttlMs: 1000 } });
    const plan = onePlan('p', { table: 't' });
    const long = onePlan('p', { table: 'long' }, { cache: { ttlMs: 10_000 } });
    await executor.execute(plan);
    await executor.execute(long);
    vi.advanceTimersByTime(1000);
    expect((await executor.execute(plan)).fragments.f!.cached).toBe(true);
    vi.advanceTimersByTime(1);
    expect((await executor.execute(plan)).fragments.f!.cached).toBe(false);
    expect((await executor.execute(long)).fragments.f!.cached).toBe(true);
    vi.advanceTimersByTime(10_000);
    expect((await executor.execute(long)).fragments.f!.cached).toBe(false);
    expect(probe.calls).toHaveLength(4);
  });

  it("expires entries on the executor's clock: a virtual clock moves the TTL, the process's time does not", async () => {
    const clock = createVirtualClock();
    const probe = probeSource();
    executor = createExecutor({ sources: { p: probe.source }, clock, cache: { ttlMs: 1000 } });
    const plan = onePlan('p', { table: 't' });
    await executor.execute(plan);
    clock.advance(1000);
    expect((await executor.execute(plan)).fragments.f!.cached).toBe(true);
    clock.advance(1);
    expect((await executor.execute(plan)).fragments.f!.cached).toBe(false);
    expect(probe.calls).toHaveLength(2);
  });

  it("never serves a fragment an entry older than its own TTL, though another fragment stored it for longer", async () => {
    const clock = createVirtualClock();
    const probe = probeSource();
    executor = createExecutor({ sources: { p: probe.source }, clock });
    const kept = onePlan('p', { table: 't' }, { cache: { ttlMs: 60_000 } });
    const fresh = onePlan('p', { table: 't' }, { cache: { ttlMs: 1000 } });
    await executor.execute(kept);
    clock.advance(1000);
    expect((await executor.execute(fresh)).fragments.f!.cached).toBe(true);
    clock.advance(29_000);
    // 30 s old: the 60 s fragment may have it, the 1 s one may not.
    expect((await executor.execute(kept)).fragments.f!.cached).toBe(true);
    expect((await executor.execute(fresh)).fragments.f!.cached).toBe(false);
    expect(probe.calls).toHaveLength(2);
    // What the 1 s fragment loaded is fresh for both.
    expect((await executor.execute(fresh)).fragments.f!.cached).toBe(true);
    expect((await executor.execute(kept)).fragments.f!.cached).toBe(true);
    expect(probe.calls).toHaveLength(2);
  });

  it('evicts least recently used entries under maxBytes, and stats().bytes stays under it', async () => {
    const probe = probeSource({ answer: (q) => [{ s: 'x'.repeat(200), q: (q as { table: string }).table }] });
    executor = createExecutor({ sources: { p: probe.source }, cache: { maxBytes: 1500 } });
    for (const t of ['a', 'b', 'c']) await executor.execute(onePlan('p', { table: t }));
    await executor.execute(onePlan('p', { table: 'a' })); // a is now the most recent
    await executor.execute(onePlan('p', { table: 'd' })); // evicts b
    expect(executor.cache.stats()).toMatchObject({ evictions: 1, entries: 3 });
    expect(executor.cache.stats().bytes).toBeLessThanOrEqual(1500);
    expect((await executor.execute(onePlan('p', { table: 'a' }))).fragments.f!.cached).toBe(true);
    expect((await executor.execute(onePlan('p', { table: 'b' }))).fragments.f!.cached).toBe(false);
  });

  it('invalidates by source, tag and key', async () => {
    const a = probeSource();
    const b = probeSource();
    executor = createExecutor({ sources: { a: a.source, b: b.source } });
    const run = async (source: string, table: string, tags?: string[]): Promise<boolean> =>
      (await executor!.execute(onePlan(source, { table }, tags ? { cache: { tags } } : {}))).fragments.f!.cached;
    await run('a', 't1', ['orders']);
    await run('a', 't2');
    await run('b', 't3', ['orders']);
    await run('b', 't4');
    expect(await executor.cache.invalidate({ tag: 'orders' })).toEqual({ local: 2, shared: 0 });
    expect(await run('a', 't1', ['orders'])).toBe(false);
    expect(await run('b', 't3', ['orders'])).toBe(false);
    expect(await run('a', 't2')).toBe(true);
    expect(await executor.cache.invalidate({ source: 'a' })).toEqual({ local: 2, shared: 0 });
    expect(await run('a', 't2')).toBe(false);
    expect(await run('b', 't4')).toBe(true);

    // by key: the key of a fragment is cacheKey() of its source, version, scope and calls
    const { cacheKey } = await import('../../src/cache/index.js');
    const key = cacheKey({ source: 'b', version: 'probe', scope: 'anonymous', calls: [{ query: { table: 't4' }, params: [] }] })!;
    expect(await executor.cache.invalidate({ key })).toEqual({ local: 1, shared: 0 });
    expect(await run('b', 't4')).toBe(false);
    const held = executor.cache.stats().entries;
    expect(await executor.cache.invalidate()).toEqual({ local: held, shared: 0 });
    expect(executor.cache.stats().entries).toBe(0);
  });

  it.each([
    [{ sorce: 'a' }, 'filter'],
    [{ source: 'a', tags: ['orders'] }, 'filter'],
    [{ tag: 5 }, 'filter.tag'],
    [{ key: '' }, 'filter.key'],
    [null, 'filter'],
    ['a', 'filter'],
  ])('refuses the filter %o with CONFIG_INVALID at %s and drops nothing (a typo is not {})', async (filter, path) => {
    const a = probeSource();
    executor = createExecutor({ sources: { a: a.source } });
    await executor.execute(onePlan('a', { table: 't1' }));
    await expect(executor.cache.invalidate(filter as never)).rejects.toMatchObject({ code: 'CONFIG_INVALID', issues: [expect.objectContaining({ path })] });
    expect(executor.cache.stats().entries).toBe(1);
    expect((await executor.execute(onePlan('a', { table: 't1' }))).fragments.f!.cached).toBe(true);
  });

  it('adds a fragment tag to the entry it is served, so the tag invalidates it', async () => {
    const probe = probeSource();
    executor = createExecutor({ sources: { p: probe.source } });
    await executor.execute(onePlan('p', { table: 't' }));
    expect((await executor.execute(onePlan('p', { table: 't' }, { cache: { tags: ['late'] } }))).fragments.f!.cached).toBe(true);
    expect(await executor.cache.invalidate({ tag: 'late' })).toEqual({ local: 1, shared: 0 });
  });

  it('does not store a load that was running when the cache was invalidated', async () => {
    const probe = probeSource({ answer: (_q, _c, n) => (n === 1 ? 'wait' : [{ n }]) });
    executor = createExecutor({ sources: { p: probe.source } });
    const plan = onePlan('p', { table: 't' });
    const run = executor.run(plan);
    await until(() => probe.calls.length === 1);
    await executor.cache.invalidate({ source: 'p' });
    probe.calls[0]!.resolve([{ n: 'stale' }]);
    expect((await run.result).rows).toEqual([{ n: 'stale' }]);
    expect((await executor.execute(plan)).rows).toEqual([{ n: 2 }]);
  });

  it('reports zeroed stats and invalidates nothing when the cache is off', async () => {
    executor = createExecutor({ sources: { p: probeSource().source }, cache: false });
    expect(executor.cache.stats()).toEqual({ hits: 0, misses: 0, evictions: 0, entries: 0, bytes: 0, inflightShared: 0 });
    expect(await executor.cache.invalidate({ source: 'p' })).toEqual({ local: 0, shared: 0 });
  });
});
