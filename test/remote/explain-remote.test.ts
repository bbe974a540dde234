import { randomUUID } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { createExecutor, createWorker, explain, memorySource, type ExecutionEvent, type RemoteOptions, type RemoteWorker } from '../../src/index.js';
import { describeRedis, dropQueues, REDIS_URL } from '../support/redis.js';

const tables = { t: [{ id: 1 }, { id: 2 }] };
/** Four in-memory sources: `ref` says `remote: true`, the others go remote only if the executor's option sends them. */
const sources = () => ({
  crm: memorySource({ tables }),
  shop: memorySource({ tables }),
  rates: memorySource({ tables }),
  ref: { ...memorySource({ tables }), remote: true },
});
const plan = {
  id: 'where-calls-run',
  fragments: ['crm', 'shop', 'rates', 'ref'].map((source) => ({ id: `${source}-rows`, source, query: { table: 't' } })),
  merge: { op: 'union', inputs: ['crm-rows', 'shop-rows', 'rates-rows', 'ref-rows'] },
};

/**
 * EXPLAIN marks as remote exactly the fragments whose calls the executor's `remote` option sends
 * to BullMQ workers — checked against the run itself: the fragments that reported a worker.
 */
describeRedis('EXPLAIN against where the calls of a run went', () => {
  const queue = `tributary-test-explain-${randomUUID()}`;
  let worker: RemoteWorker | undefined;
  afterAll(async () => {
    await worker?.close();
    await dropQueues(queue);
  });

  const ranRemote = async (remote: RemoteOptions): Promise<string[]> => {
    worker ??= createWorker({ sources: sources(), connection: REDIS_URL, queue, id: 'w-explain' });
    await worker.ready();
    const executor = createExecutor({ sources: sources(), cache: false, telemetry: false, remote });
    try {
      const run = executor.run(plan);
      const events: ExecutionEvent[] = [];
      run.events$.subscribe((e) => events.push(e));
      expect((await run.result).status).toBe('ok');
      return [...new Set(events.flatMap((e) => (e.type === 'fragment.remote' ? [e.fragmentId] : [])))].sort();
    } finally {
      await executor.close();
    }
  };
  const marked = (remote: RemoteOptions): string[] =>
    explain(plan, { sources: sources(), remote })
      .fragments.filter((f) => f.remote)
      .map((f) => f.id)
      .sort();

  it('with remote.sources: the listed sources and the one given remote: true', { timeout: 30_000 }, async () => {
    const remote = { connection: REDIS_URL, queue, sources: ['shop'] };
    expect(await ranRemote(remote)).toEqual(['ref-rows', 'shop-rows']);
    expect(marked(remote)).toEqual(['ref-rows', 'shop-rows']);
    const e = explain(plan, { sources: sources(), remote });
    expect(e.text()).toMatch(/^ {2}shop-rows +shop \(memory, remote\) +table t$/m);
    expect(e.text()).toMatch(/^ {2}crm-rows +crm \(memory\) +table t$/m);
    expect(e.html()).toContain('<td>shop (memory, remote)</td>');
  });

  it('without remote.sources: every source', { timeout: 30_000 }, async () => {
    const remote = { connection: REDIS_URL, queue };
    expect(await ranRemote(remote)).toEqual(['crm-rows', 'rates-rows', 'ref-rows', 'shop-rows']);
    expect(marked(remote)).toEqual(['crm-rows', 'rates-rows', 'ref-rows', 'shop-rows']);
  });
});
