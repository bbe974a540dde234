import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, type Executor, type QueryRun, type Row } from '../../src/index.js';

// A collector the test can call: the flag is set for this process, `gc` read from a fresh context.
v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc') as () => void;

/** Runs the collector once the current job has ended (a WeakRef keeps its target until then). */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 5; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    collect();
    if (ref.deref() === undefined) return true;
  }
  return false;
}

/**
 * What a finished query actor keeps. The Stately inspector, a store of actors or a test that
 * holds `run.actor` after the run keeps the actor tree alive; the run itself (its rows, status
 * table and events) must not ride along with it.
 */
describe('a finished run is released by its actors', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  const plan = {
    id: 'released',
    fragments: [
      { id: 'a', source: 'mem', query: { table: 't' } },
      { id: 'b', source: 'mem', dependsOn: ['a'], query: { table: 't' } },
    ],
    merge: { op: 'union', inputs: ['a', 'b'] },
  };

  async function finishedRun(): Promise<{ actor: QueryRun['actor']; rows: WeakRef<Row[]> }> {
    const run = executor!.run(plan);
    const result = await run.result;
    expect(result.rows).toHaveLength(2000);
    return { actor: run.actor, rows: new WeakRef(result.rows) };
  }

  it('keeps no rows reachable from the actor (and its source actors) after the run', async () => {
    const t = Array.from({ length: 1000 }, (_, id) => ({ id, payload: `row ${id}` }));
    executor = createExecutor({ sources: { mem: memorySource({ tables: { t } }) }, cache: false });
    const { actor, rows } = await finishedRun();
    // The actor tree is still held, as an inspector would hold it: the run's rows are not.
    expect(actor.getSnapshot().status).toBe('done');
    expect(Object.keys(actor.getSnapshot().children)).toEqual(['mem']);
    expect(await collected(rows)).toBe(true);
    expect(actor.getSnapshot().context.counts).toMatchObject({ succeeded: 2 });
  });

  it('collects nothing the caller still holds (the check above can tell the two apart)', async () => {
    const t = Array.from({ length: 1000 }, (_, id) => ({ id }));
    executor = createExecutor({ sources: { mem: memorySource({ tables: { t } }) }, cache: false });
    const run = executor.run(plan);
    const result = await run.result;
    const ref = new WeakRef(result.rows);
    expect(await collected(ref)).toBe(false);
    expect(result.rows).toHaveLength(2000);
  });
});
