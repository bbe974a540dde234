import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, memorySource, PreparedPlan, type Executor, type SourceExecutor } from '../../src/index.js';
import { memoBound } from '../../src/run/run-cache.js';

/** A memory source that counts how often its query schema checks a query (i.e. how often a plan is validated). */
function countingSource(): { source: SourceExecutor; checks: () => number } {
  const source = memorySource({ tables: { t: [{ id: 1 }, { id: 2 }, { id: 3 }] } });
  let checks = 0;
  const schema = source.querySchema;
  const counted = Object.create(schema) as typeof schema;
  counted.safeParse = ((value: unknown) => {
    checks++;
    return schema.safeParse(value);
  }) as typeof schema.safeParse;
  return { source: { ...source, querySchema: counted, execute: source.execute.bind(source) }, checks: () => checks };
}

const planOf = (id: string) => ({
  id,
  fragments: [
    { id: 'a', source: 'mem', query: { table: 't' } },
    { id: 'b', source: 'mem', dependsOn: ['a'], query: { table: 't', where: { in: ['id', { $from: 'a', column: 'id' }] } }, retry: { attempts: 5 } },
  ],
  merge: { op: 'join', type: 'inner', left: 'a', right: 'b', on: [['id', 'id']] },
  timeoutMs: 1234,
});

describe('prepared plans', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  it('reports each fragment’s dependencies in every result, each result with its own copy', async () => {
    executor = createExecutor({ sources: { mem: countingSource().source }, cache: false });
    const plan = { ...planOf('deps'), fragments: [...planOf('deps').fragments, { id: 'c', source: 'mem', dependsOn: ['b', 'a', 'b'], query: { table: 't' } }] };
    const prepared = executor.prepare(plan);
    const first = await executor.execute(prepared);
    expect(first.fragments.a!.dependsOn).toEqual([]);
    expect(first.fragments.b!.dependsOn).toEqual(['a']);
    expect(first.fragments.c!.dependsOn).toEqual(['b', 'a']);
    first.fragments.c!.dependsOn.push('changed by the caller');
    const second = await executor.execute(prepared);
    expect(second.fragments.c!.dependsOn).toEqual(['b', 'a']);
  });

  it('validates once and precomputes levels, dependents and each fragment’s merged settings and path', async () => {
    const { source, checks } = countingSource();
    executor = createExecutor({ sources: { mem: source }, cache: false, retry: { attempts: 2, initialDelayMs: 7 } });
    const prepared = executor.prepare(planOf('p'));
    expect(prepared).toBeInstanceOf(PreparedPlan);
    expect(checks()).toBe(2);
    expect(prepared.levelSizes).toEqual([1, 1]);
    expect(prepared.sources).toEqual(['mem']);
    const [a, b] = prepared.fragments;
    expect(a).toMatchObject({ id: 'a', level: 0, path: 'fragments[0]', dependsOn: [], dependents: [1], timeoutMs: 1234 });
    expect(a!.retry).toMatchObject({ attempts: 2, initialDelayMs: 7 });
    expect(b).toMatchObject({ id: 'b', level: 1, path: 'fragments[1]', dependsOn: [0], dependents: [], timeoutMs: 1234 });
    expect(b!.retry).toMatchObject({ attempts: 5, initialDelayMs: 7 });
    // A reference-free query is bound once; a bound one per run.
    expect(a!.staticCalls).toEqual([{ query: { table: 't' }, params: [], values: [] }]);
    expect(b!.staticCalls).toBeUndefined();

    for (let i = 0; i < 3; i++) expect((await executor.execute(prepared)).rows).toHaveLength(3);
    expect(checks()).toBe(2);
  });

  it('remembers the preparation of a plan object run again, and validates a new object', async () => {
    const { source, checks } = countingSource();
    executor = createExecutor({ sources: { mem: source }, cache: false });
    const plan = planOf('same');
    await executor.execute(plan);
    await executor.execute(plan);
    expect(checks()).toBe(2);
    await executor.execute(planOf('same'));
    expect(checks()).toBe(4);
    expect(executor.prepare(plan)).toBe(executor.prepare(plan));
  });

  it('prepares a plan object again once it has changed, so a changed plan never runs stale (cache keys, settings, validation)', async () => {
    const { source, checks } = countingSource();
    executor = createExecutor({ sources: { mem: source } });
    const plan = { fragments: [{ id: 'a', source: 'mem', query: { table: 't', where: { ge: ['id', 2] } } }], timeoutMs: 1000 };
    expect((await executor.execute(plan)).rows).toEqual([{ id: 2 }, { id: 3 }]);
    const before = executor.prepare(plan);
    expect(checks()).toBe(1);
    // A value deep in a query: the result (and its cache key) follows the change.
    plan.fragments[0]!.query.where.ge[1] = 3;
    expect((await executor.execute(plan)).rows).toEqual([{ id: 3 }]);
    expect(checks()).toBe(2);
    const after = executor.prepare(plan);
    expect(after).not.toBe(before);
    expect(after.fragments[0]!.timeoutMs).toBe(1000);
    // A setting: the preparation's merged settings follow too.
    plan.timeoutMs = 50;
    expect(executor.prepare(plan).fragments[0]!.timeoutMs).toBe(50);
    // Changed into something invalid: refused as any invalid plan is.
    (plan.fragments[0]!.query as { table: unknown }).table = 7;
    expect(() => executor!.run(plan)).toThrow(expect.objectContaining({ code: 'PLAN_INVALID' }));
    // Unchanged since: the same preparation, no validation.
    (plan.fragments[0]!.query as { table: unknown }).table = 't';
    const again = executor.prepare(plan);
    const checked = checks();
    expect(executor.prepare(plan)).toBe(again);
    await executor.execute(plan);
    expect(checks()).toBe(checked);
  });

  it('a plan changed in place to a value JSON writes as null (NaN, Infinity, an undefined element) is prepared again, not run as null', async () => {
    // Binds its params back as rows, as a SQL source would bind them.
    const echo: SourceExecutor<{ params: unknown[] }> = {
      kind: 'echo',
      querySchema: z.strictObject({ params: z.array(z.unknown()) }),
      execute: (_query, ctx) => Promise.resolve([{ x: ctx.params[0], y: ctx.params.length > 1 ? ctx.params[1] : 'none' }]),
    };
    executor = createExecutor({ sources: { echo, mem: countingSource().source }, cache: false });
    const plan = { fragments: [{ id: 'a', source: 'echo', query: { params: [null, 'sql text: is null'] as unknown[] } }] };
    expect((await executor.execute(plan)).rows).toEqual([{ x: null, y: 'sql text: is null' }]);
    for (const value of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, undefined]) {
      plan.fragments[0]!.query.params[0] = value;
      expect((await executor.execute(plan)).rows).toEqual([{ x: value, y: 'sql text: is null' }]);
    }
    // Unchanged since: the same preparation, however many nulls its text holds.
    plan.fragments[0]!.query.params[0] = null;
    expect(executor.prepare(plan)).toBe(executor.prepare(plan));
    // A memory query refuses Infinity: a value changed from null to it is refused, not run as null.
    const mem = { fragments: [{ id: 'a', source: 'mem', query: { table: 't', where: { eq: ['id', null as number | null] } } }] };
    expect((await executor.execute(mem)).rows).toEqual([]);
    mem.fragments[0]!.query.where.eq[1] = Number.POSITIVE_INFINITY;
    expect(() => executor!.run(mem)).toThrow(expect.objectContaining({ code: 'PLAN_INVALID' }));
  });

  it('a PreparedPlan runs what was validated, whatever happens to the object it came from; the object itself runs as it is now', async () => {
    executor = createExecutor({ sources: { mem: countingSource().source } });
    const ids = [1, 2];
    const plan = { fragments: [{ id: 'a', source: 'mem', query: { table: 't', where: { in: ['id', ids] } } }] };
    const prepared = executor.prepare(plan);
    expect((await executor.execute(prepared)).rows).toEqual([{ id: 1 }, { id: 2 }]);
    // The caller reuses its array, and even breaks its query: the prepared plan does not see it.
    ids.splice(0, 2, 3);
    expect((await executor.execute(prepared)).rows).toEqual([{ id: 1 }, { id: 2 }]);
    expect((await executor.execute(plan)).rows).toEqual([{ id: 3 }]);
    (plan.fragments[0]!.query as { table: unknown }).table = 42;
    expect((await executor.execute(prepared)).rows).toEqual([{ id: 1 }, { id: 2 }]);
    expect(() => executor!.run(plan)).toThrow(expect.objectContaining({ code: 'PLAN_INVALID' }));
    // Prepared again for another registry state, it starts from its own copy, not the broken object.
    executor.register('other', memorySource({ tables: {} }));
    expect((await executor.execute(prepared)).rows).toEqual([{ id: 1 }, { id: 2 }]);
  });

  it('fails before anything runs for an invalid plan, and a prepared plan whose source was unregistered', async () => {
    executor = createExecutor({ sources: { mem: memorySource({ tables: { t: [] } }) } });
    expect(() => executor!.prepare({ fragments: [{ id: 'a', source: 'nope', query: {} }] })).toThrow(expect.objectContaining({ code: 'SOURCE_UNKNOWN' }));
    expect(() => executor!.prepare({ fragments: [{ id: 'a', source: 'mem', query: { table: 't' }, dependsOn: ['a'] }] })).toThrow(
      expect.objectContaining({ code: 'PLAN_INVALID' }),
    );
    const prepared = executor.prepare(planOf('gone'));
    executor.unregister('mem');
    expect(() => executor!.run(prepared)).toThrow(expect.objectContaining({ code: 'SOURCE_UNKNOWN' }));
    executor.register('mem', memorySource({ tables: { t: [{ id: 9 }] } }));
    expect((await executor.execute(prepared)).rows).toEqual([{ id: 9, 'b.id': 9 }]);
  });

  it('is prepared again when run on another executor', async () => {
    executor = createExecutor({ sources: { mem: memorySource({ tables: { t: [{ id: 1 }] } }) }, cache: false });
    const other = createExecutor({ sources: { mem: memorySource({ tables: { t: [{ id: 1 }, { id: 2 }] } }) }, cache: false });
    try {
      const prepared = executor.prepare(planOf('moved'));
      expect((await other.execute(prepared)).rows).toHaveLength(2);
      expect((await executor.execute(prepared)).rows).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  it('a kept plan run for many principals remembers a bounded number of cache keys, and still hits the cache per principal', async () => {
    executor = createExecutor({ sources: { mem: countingSource().source } });
    const prepared = executor.prepare({
      fragments: [
        { id: 'a', source: 'mem', query: { table: 't' } },
        { id: 'b', source: 'mem', query: { table: 't', columns: ['id'] } },
      ],
      merge: { op: 'union', inputs: ['a', 'b'] },
    });
    // Each principal is its own cache scope: two keys per principal, 2,000 if all were kept.
    for (let i = 0; i < 1000; i++) await executor.execute(prepared, { principal: { id: `user-${i}` } });
    expect(prepared.keys.size).toBeLessThanOrEqual(memoBound(prepared.fragments.length));
    const again = await executor.execute(prepared, { principal: { id: 'user-999' } });
    expect(again.stats.cacheHits).toBe(2);
    expect(again.rows).toHaveLength(6);
  });

  it('checks run parameters on every run of a prepared plan', async () => {
    executor = createExecutor({ sources: { mem: memorySource({ tables: { t: [{ id: 1 }, { id: 2 }] } }) }, cache: false });
    const prepared = executor.prepare({ fragments: [{ id: 'a', source: 'mem', query: { table: 't', where: { eq: ['id', { $param: 'id' }] } } }] });
    expect(prepared.hasRunParams).toBe(true);
    expect(() => executor!.run(prepared)).toThrow(expect.objectContaining({ code: 'PLAN_INVALID' }));
    expect((await executor.execute(prepared, { params: { id: 2 } })).rows).toEqual([{ id: 2 }]);
  });
});

describe('big plans', () => {
  it('runs a 10,000-fragment plan to the end (its per-fragment cost is measured in bench/, not here)', async () => {
    const n = 10_000;
    const executor = createExecutor({
      sources: { mem: memorySource({ tables: { t: [{ id: 1 }] } }) },
      cache: false,
      limits: { maxFragments: n, maxMergeNodes: n + 1, maxPlanBytes: 16 * 2 ** 20 },
    });
    try {
      const fragments = Array.from({ length: n }, (_, i) => ({ id: `f${i}`, source: 'mem', query: { table: 't' }, ...(i >= n / 2 ? { dependsOn: [`f${i - n / 2}`] } : {}) }));
      const run = executor.run({ id: 'huge', fragments, merge: { op: 'union', inputs: fragments.map((f) => f.id) } });
      let snapshots = 0;
      run.actor.subscribe(() => snapshots++);
      const result = await run.result;
      expect(result.status).toBe('ok');
      expect(result.rows).toHaveLength(n);
      expect(Object.keys(result.fragments)).toHaveLength(n);
      expect(run.actor.getSnapshot().context.counts).toMatchObject({ total: n, succeeded: n });
      // One settle event per fragment, a few more for the levels and the merge.
      expect(snapshots).toBeGreaterThanOrEqual(n);
    } finally {
      await executor.close();
    }
  });

  it('raising maxFragments alone runs a plan that size: the merge-node and byte limits follow it unless set', async () => {
    const n = 5000;
    const fragments = Array.from({ length: n }, (_, i) => ({ id: `f${i}`, source: 'mem', query: { table: 't', where: { eq: ['id', i] } } }));
    const plan = { id: 'wide', fragments, merge: { op: 'union' as const, inputs: fragments.map((f) => f.id) } };
    expect(JSON.stringify(plan).length).toBeGreaterThan(1024 * 1024 / 4);
    const sources = { mem: memorySource({ tables: { t: Array.from({ length: n }, (_, id) => ({ id })) } }) };
    const raised = createExecutor({ sources, cache: false, limits: { maxFragments: n } });
    const pinned = createExecutor({ sources, cache: false, limits: { maxFragments: n, maxMergeNodes: 1000 } });
    const defaults = createExecutor({ sources, cache: false });
    try {
      expect((await raised.execute(plan)).rows).toHaveLength(n);
      // A limit that is set stays what it says.
      expect(() => pinned.run(plan)).toThrow(expect.objectContaining({ code: 'PLAN_INVALID', issues: [{ path: 'merge', message: `the merge tree has ${n + 1} nodes; the limit is 1000` }] }));
      // The defaults are unchanged: 1,000 fragments, 1,000 merge nodes.
      expect(() => defaults.run({ fragments: fragments.slice(0, 1), merge: { op: 'union', inputs: Array.from({ length: 1000 }, () => 'f0') } })).toThrow(
        expect.objectContaining({ issues: [{ path: 'merge', message: 'the merge tree has 1001 nodes; the limit is 1000' }] }),
      );
    } finally {
      await Promise.all([raised.close(), pinned.close(), defaults.close()]);
    }
  });
});
