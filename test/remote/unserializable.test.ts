import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, createWorker, memorySource, type Executor, type RemoteWorker } from '../../src/index.js';
import { describeRedis, REDIS_URL } from '../support/redis.js';

/** A value a run may be given (a class instance is bound as itself), holding what V8 cannot serialize. */
class Holder {
  readonly id = 1;
  readonly callback = (): string => 'secret-callback-body';
  describe(): string {
    return `holder ${this.id}`;
  }
}

/**
 * A remote call's payload is V8-serialized onto the queue. One that cannot be (a function or
 * a symbol among the principal's claims or in a bound value) fails its fragment with
 * CONFIG_INVALID at the value's path — it never reaches Redis, never crashes or hangs the
 * run, and the message names where the value is and what kind it is, never its content.
 */
describeRedis('a remote call whose payload cannot be serialized', () => {
  const queue = `tributary-test-${randomUUID()}`;
  const tables = { t: [{ id: 1, name: 'one' }, { id: 2, name: 'two' }] };
  let worker: RemoteWorker;
  let executor: Executor;

  beforeAll(async () => {
    worker = createWorker({ id: 'w1', sources: { mem: memorySource({ tables }) }, connection: REDIS_URL, queue });
    await worker.ready();
    executor = createExecutor({ sources: { mem: memorySource({ tables }) }, cache: false, remote: { connection: REDIS_URL, queue } });
  });
  afterAll(async () => {
    await executor.close();
    await worker.close();
    const q = new Queue(queue, { connection: { url: REDIS_URL } });
    await q.obliterate({ force: true });
    await q.close();
  });

  const tablePlan = { id: 'claims', fragments: [{ id: 'f', source: 'mem', query: { table: 't' } }] };
  const paramPlan = { id: 'param', fragments: [{ id: 'f', source: 'mem', query: { table: 't', where: { eq: ['id', { $param: 'y' }] } } }] };

  it.each([
    ['a function among the principal\'s claims', tablePlan, { principal: { id: 'u1', hook: () => 'secret-hook-body' } }, 'principal.hook', 'a function'],
    ['a symbol among the principal\'s claims', tablePlan, { principal: { id: 'u1', nested: { tag: Symbol('secret-symbol') } } }, 'principal.nested.tag', 'a symbol'],
    ['a class instance with a function field as a param', paramPlan, { params: { y: new Holder() } }, 'query.where.eq[1].callback', 'a function'],
  ])('%s: the fragment fails CONFIG_INVALID at the value\'s path, nothing queued', async (_, plan, options, path, kind) => {
    const result = await executor.execute(plan, options);
    expect(result.status).toBe('failed');
    const error = result.errors[0]!;
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', fragmentId: 'f', retryable: false });
    expect(error.issues).toEqual([{ path, message: expect.stringContaining(kind) as string }]);
    expect(error.message).toContain(path);
    expect(JSON.stringify(result.errors)).not.toMatch(/secret/);
    const q = new Queue(queue, { connection: { url: REDIS_URL } });
    try {
      expect(await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed')).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 });
    } finally {
      await q.close();
    }
    // The lane is unharmed: the next call goes to the worker and comes back.
    const next = await executor.execute(tablePlan, { principal: { id: 'u1' } });
    expect(next.status).toBe('ok');
    expect(next.rows).toEqual(tables.t);
  });
});
