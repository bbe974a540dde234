import { z } from 'zod';
import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, type Executor, type Principal, type Row, type SourceExecutor } from '../../src/index.js';

/*
 * A run keeps its own copy of its params, so the caller may reuse its objects for the next
 * request at once — arrays inside them too. Otherwise a value the `authorize` rule checked
 * for one principal could be changed, by the next request reusing the array, into another
 * principal's before a later level binds it: the first principal would read the second's rows.
 */
describe('run params are the run\'s own, arrays inside them included', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
  });

  it('a later level binds the values authorize allowed, though the caller reuses the array for another principal', async () => {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    const gate: SourceExecutor<{ n: number }> = { kind: 'gate', querySchema: z.strictObject({ n: z.number() }), execute: async (): Promise<Row[]> => (await opened, [{ n: 1 }]) };
    const accounts = memorySource({ tables: { accounts: [{ id: 1, owner: 'alice' }, { id: 2, owner: 'alice' }, { id: 3, owner: 'bob' }] } });
    const allowed: Record<string, number[]> = { alice: [1, 2], bob: [3] };
    executor = createExecutor({
      sources: { gate, accounts },
      cache: false,
      authorize: (principal: Principal | undefined, { params }) =>
        (Array.isArray(params.ids) && params.ids.every((id) => allowed[principal?.id ?? '']?.includes(id as number) === true)) || 'not your accounts',
    });
    const plan = {
      fragments: [
        { id: 'wait', source: 'gate', query: { n: 1 } },
        { id: 'rows', source: 'accounts', dependsOn: ['wait'], query: { table: 'accounts', columns: ['id', 'owner'], where: { in: ['id', { $param: 'ids' }] } } },
      ],
      merge: { op: 'project', input: 'rows', columns: ['id', 'owner'] },
    };
    const ids = [1, 2];
    const alice = executor.run(plan, { principal: { id: 'alice' }, params: { ids } });
    // The next request reuses the array for bob, while alice's run still waits on its first level.
    ids.length = 0;
    ids.push(3);
    const bob = executor.run(plan, { principal: { id: 'bob' }, params: { ids } });
    open();
    expect((await alice.result).rows).toEqual([{ id: 1, owner: 'alice' }, { id: 2, owner: 'alice' }]);
    expect((await bob.result).rows).toEqual([{ id: 3, owner: 'bob' }]);
  });
});
