import { z } from 'zod';
import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, sqliteRunStore, type Executor, type Row, type SourceExecutor } from '../../src/index.js';
import { unbindPort } from '../../src/run/port-slot.js';

/*
 * A query actor that errors (an action throws) ends its run as `failed`: the run's own
 * observer hears the error. A durable run also watches the actor's snapshots (the snapshot
 * stored with each fragment); that watch must not turn the actor's error into an uncaught
 * exception — XState reports an actor's error as unhandled (a throw on a timer, which kills
 * a Node process) when any of its observers has no error listener.
 */
describe('a durable run whose query actor errors', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
  });

  it('fails the run, and nothing is thrown outside it', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const source: SourceExecutor<{ part: string }> = {
      kind: 'parts',
      querySchema: z.strictObject({ part: z.string() }),
      async execute(query): Promise<Row[]> {
        if (query.part === 'b') await released;
        return [{ part: query.part }];
      },
    };
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => void uncaught.push(error);
    process.prependListener('uncaughtException', onUncaught);
    try {
      executor = createExecutor({ sources: { parts: source }, cache: false, runStore: sqliteRunStore({ file: ':memory:' }) });
      const plan = { id: 'parts', fragments: [{ id: 'a', source: 'parts', query: { part: 'a' } }, { id: 'b', source: 'parts', query: { part: 'b' } }], merge: { op: 'union', inputs: ['a', 'b'] } };
      const run = executor.run(plan, { runId: 'errs' });
      await expect.poll(async () => (await executor!.runs())[0]?.stored, { timeout: 5000, interval: 5 }).toBe(1);
      // The next settle finds no run bound to the actor: its `settle` action throws, and the actor errors.
      unbindPort(run.actor.system);
      release();
      const result = await run.result;
      expect(run.actor.getSnapshot().status).toBe('error');
      expect(result.status).toBe('failed');
      // XState reports an unhandled actor error on a timer of 0 ms: let it (and the store's writes) fire.
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(uncaught).toEqual([]);
    } finally {
      process.removeListener('uncaughtException', onUncaught);
    }
  });
});
