import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterEach, expect, it } from 'vitest';
import { createExecutor, createWorker, memorySource, postgresSource, type ExecutionEvent, type Executor, type RemoteWorker } from '../../src/index.js';
import { describeRedis, dropKeys, REDIS_URL } from '../support/redis.js';

/**
 * Issue 9 names two ways to put a source's calls on BullMQ workers: `createExecutor({ remote:
 * { connection, queue } })` for all (or `remote.sources`), and per connector, `postgresSource({
 * ..., remote: true })`. The coordinator's and the worker's copies of a source hold different
 * rows here, so the rows say where each call ran.
 */
describeRedis('a connector with remote: true', () => {
  const queue = `tributary-contract-${randomUUID()}`;
  let executor: Executor | undefined;
  let worker: RemoteWorker | undefined;
  afterEach(async () => {
    await executor?.close();
    await worker?.close();
    executor = undefined;
    worker = undefined;
    const q = new Queue(queue, { connection: { url: REDIS_URL } });
    await q.obliterate({ force: true });
    await q.close();
    await dropKeys(`tributary:${queue}:`);
  });

  const where = (place: string) => ({ tables: { t: [{ ran: place }] } });

  it('runs on the workers though remote.sources does not list it; a source without the flag stays in-process', { timeout: 30_000 }, async () => {
    // The worker's copy carries the flag too (one config shared by both processes): a worker runs it itself.
    worker = createWorker({ sources: { flagged: memorySource({ ...where('worker'), remote: true }) }, connection: REDIS_URL, queue, id: 'w1' });
    await worker.ready();
    executor = createExecutor({
      sources: { flagged: memorySource({ ...where('coordinator'), remote: true }), local: memorySource(where('coordinator')) },
      remote: { connection: REDIS_URL, queue, sources: ['listed-elsewhere'] },
      cache: false,
    });
    const run = executor.run({
      id: 'remote-flag',
      fragments: [{ id: 'f', source: 'flagged', query: { table: 't' } }, { id: 'l', source: 'local', query: { table: 't' } }],
      merge: { op: 'union', inputs: ['f', 'l'] },
    });
    const events: ExecutionEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.rows).toEqual([{ ran: 'worker' }, { ran: 'coordinator' }]);
    const remoteEvents = events.filter((e) => e.type === 'fragment.remote');
    expect(remoteEvents.map((e) => ('fragmentId' in e ? e.fragmentId : undefined))).toEqual(['f']);
  });

  it('is refused by an executor with no remote option, at the source, before anything runs', () => {
    let thrown: unknown;
    try {
      createExecutor({ sources: { flagged: memorySource({ ...where('coordinator'), remote: true }) } });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ code: 'CONFIG_INVALID', issues: [{ path: 'sources.flagged.remote', message: expect.stringContaining('no remote option') }] });
  });

  it('is an option of postgresSource (checked: not a boolean is CONFIG_INVALID at options.remote)', async () => {
    const source = postgresSource({ url: 'postgres://postgres@127.0.0.1:5432/test', remote: true });
    expect(source.remote).toBe(true);
    await source.close?.();
    expect(() => postgresSource({ url: 'postgres://postgres@127.0.0.1:5432/test', remote: 'yes' as unknown as boolean })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', issues: [expect.objectContaining({ path: 'options.remote' })] }),
    );
  });
});
