import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createExecutor, memorySource, redisStore, type Executor } from '../../src/index.js';
import { describeRedis, dropNamespace, inspectClient, REDIS_URL, uniqueNamespace } from '../support/redis.js';

/**
 * A cache entry is stored by whichever run loaded it, under that run's limits (or none); a
 * later run with tighter `limits` (or an executor whose `rowLimits` are tighter than the
 * loader's plan) must not be served more rows or bytes than it allows. A hit was served
 * unchecked: at once from the in-process cache, and through the pipeline with its bytes
 * never counted.
 */
const t = Array.from({ length: 100 }, (_, i) => ({ id: i % 10, s: 'x'.repeat(50) }));
const ids = [{ id: 1 }, { id: 2 }, { id: 3 }];
const whole = (limits?: { maxRows?: number; maxBytes?: number }) => ({ ...(limits ? { limits } : {}), fragments: [{ id: 'f', source: 'm', query: { table: 't' } }] });
/** A bound fragment: its key is known only once `ids` ran, so its hit goes through the pipeline. */
const bound = (limits?: { maxRows?: number; maxBytes?: number }) => ({
  ...(limits ? { limits } : {}),
  fragments: [
    { id: 'ids', source: 'm', query: { table: 'ids' } },
    { id: 'f', source: 'm', dependsOn: ['ids'], query: { table: 't', where: { in: ['id', { $from: 'ids', column: 'id' }] } } },
  ],
  merge: 'f',
});

async function expectLimited(executor: Executor, plan: unknown, bound: string): Promise<void> {
  const result = await executor.execute(plan);
  expect(result.status).toBe('failed');
  expect(result.rows).toEqual([]);
  expect(result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'f', message: expect.stringContaining(`more than ${bound}`) })]);
}

describe('a cache hit holds to the limits of the run it serves', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  it('refuses an in-process hit past maxRows or maxBytes, for a whole and a bound fragment', async () => {
    executor = createExecutor({ sources: { m: memorySource({ tables: { t, ids } }) } });
    expect((await executor.execute(whole())).rows).toHaveLength(100);
    await expectLimited(executor, whole({ maxRows: 5 }), 'maxRows=5');
    await expectLimited(executor, whole({ maxBytes: 500 }), 'maxBytes=500');
    expect((await executor.execute(bound())).rows).toHaveLength(30);
    await expectLimited(executor, bound({ maxRows: 20 }), 'maxRows=20');
    await expectLimited(executor, bound({ maxBytes: 500 }), 'maxBytes=500');
    // Within the limits, the hit is served.
    const fits = await executor.execute(whole({ maxRows: 100, maxBytes: 1 << 20 }));
    expect(fits.rows).toHaveLength(100);
    expect(fits.fragments.f?.cached).toBe(true);
  });
});

describeRedis('a Redis (L2) cache hit holds to the limits of the run it serves', () => {
  let inspector: Redis;
  const namespace = uniqueNamespace();
  const executors: Executor[] = [];
  beforeAll(() => {
    inspector = inspectClient();
  });
  afterAll(async () => {
    await Promise.all(executors.map((e) => e.close()));
    await dropNamespace(inspector, namespace);
    inspector.disconnect();
  });

  /** A fresh executor (an empty in-process cache) on the shared namespace. */
  const fresh = (rowLimits?: { maxRows?: number; maxBytes?: number }, own: { maxRows?: number; maxBytes?: number } = {}): Executor => {
    const e = createExecutor({ sources: { m: memorySource({ tables: { t, ids }, ...own }) }, cache: { store: redisStore({ url: REDIS_URL, namespace, timeoutMs: 1000 }) }, ...(rowLimits ? { rowLimits } : {}) });
    executors.push(e);
    return e;
  };

  it('refuses an L2 hit past the run limits or the executor rowLimits', async () => {
    expect((await fresh().execute(whole())).rows).toHaveLength(100);
    await expectLimited(fresh(), whole({ maxBytes: 500 }), 'maxBytes=500');
    await expectLimited(fresh({ maxRows: 10 }), whole(), 'maxRows=10');
    const hit = await fresh().execute(whole());
    expect(hit.fragments.f?.cached).toBe(true);
    expect(hit.rows).toHaveLength(100);
  });

  it("holds an L2 hit, and the in-process copy it leaves, to the source's own maxRows / maxBytes, as a call would be", async () => {
    // Stored by an executor whose source sets no bound; read by one whose source does.
    expect((await fresh().execute(whole())).rows).toHaveLength(100);
    for (const own of [{ maxRows: 10 }, { maxBytes: 500 }]) {
      const reader = fresh(undefined, own);
      const bound = own.maxRows === undefined ? 'maxBytes=500' : 'maxRows=10';
      // Through the pipeline (an L2 hit), then served at once from the in-process copy it left.
      await expectLimited(reader, whole(), bound);
      await expectLimited(reader, whole(), bound);
    }
    const loose = fresh(undefined, { maxRows: 100 });
    await loose.execute(whole());
    const hit = await loose.execute(whole());
    expect(hit.fragments.f?.cached).toBe(true);
    expect(hit.rows).toHaveLength(100);
  });
});
