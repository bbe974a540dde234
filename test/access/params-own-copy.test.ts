import { z } from 'zod';
import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, type Executor, type Principal, type Row, type SourceExecutor } from '../../src/index.js';

/*
 * A run keeps its own copy of its params, so the caller may reuse its objects for the next
 * request at once — arrays inside them too. Otherwise a value the `authorize` rule checked
 * for one principal could be changed, by the next request reusing the array, into another
 * principal's before a later level binds it: the first principal would read the second's rows.
 */
describe('run params and principal claims are the run\'s own, arrays inside them included', () => {
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

  it('a later level\'s source sees the claims the run started with, though the caller changes the principal\'s role list', async () => {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    const seen: unknown[] = [];
    const echo: SourceExecutor<{ step: number }> = {
      kind: 'echo',
      querySchema: z.strictObject({ step: z.number() }),
      async execute(query, ctx): Promise<Row[]> {
        if (query.step === 1) await opened;
        else seen.push(structuredClone(ctx.principal));
        return [{ step: query.step }];
      },
    };
    executor = createExecutor({ sources: { echo }, cache: false });
    const plan = { fragments: [{ id: 'one', source: 'echo', query: { step: 1 } }, { id: 'two', source: 'echo', dependsOn: ['one'], query: { step: 2 } }], merge: { op: 'union', inputs: ['one', 'two'] } };
    const roles = ['hr'];
    const principal = { id: 'alice', roles, profile: { teams: ['pay'] } };
    const run = executor.run(plan, { principal });
    roles.length = 0;
    principal.profile.teams.push('all');
    open();
    expect((await run.result).status).toBe('ok');
    expect(seen).toEqual([{ id: 'alice', roles: ['hr'], profile: { teams: ['pay'] } }]);
  });

  it('a principal whose claims hold a cycle still runs (its claims copied at the top level)', async () => {
    executor = createExecutor({ sources: { m: memorySource({ tables: { t: [{ a: 1 }] } }) }, cache: false });
    const claims: Record<string, unknown> = {};
    claims.self = claims;
    const result = await executor.execute({ fragments: [{ id: 'f', source: 'm', query: { table: 't' } }] }, { principal: { id: 'alice', claims } });
    expect(result.rows).toEqual([{ a: 1 }]);
  });
});
