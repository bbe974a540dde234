import { z } from 'zod';
import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, sqliteRunStore, type Executor, type Principal, type Row, type SourceExecutor } from '../../src/index.js';

/*
 * A principal's claims come from the login and change: a role is revoked, a token is
 * refreshed. A durable run belongs to its principal's whole scope — its id and its claims, as
 * a cache entry does (a source may answer by a claim) — so a caller whose claims changed does
 * not find the run: it never gets rows fetched under other claims mixed with its own. Its own
 * run is resumed with `authorize` asked again. Another principal's run, resumed with
 * `anyPrincipal`, keeps the claims it was started with.
 */
describe('resume and the principal\'s claims', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
  });

  /** Answers `a` at once; `b` waits until released. Every row says whose token called it. */
  function payroll() {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const source: SourceExecutor<{ part: string }> = {
      kind: 'payroll',
      querySchema: z.strictObject({ part: z.string() }),
      async execute(query, ctx): Promise<Row[]> {
        if (query.part === 'b') await released;
        return [{ part: query.part, caller: ctx.principal?.id ?? null, token: (ctx.principal?.token as string | undefined) ?? null }];
      },
    };
    return { source, release };
  }

  const plan = { id: 'pay', fragments: [{ id: 'a', source: 'pay', query: { part: 'a' } }, { id: 'b', source: 'pay', query: { part: 'b' } }], merge: { op: 'union', inputs: ['a', 'b'] } };
  const hrOnly = (principal: Principal | undefined): boolean | string => (Array.isArray(principal?.roles) && principal.roles.includes('hr')) || 'payroll is for the HR team';

  async function interrupted(e: Executor, runId: string, principal: Principal): Promise<void> {
    const run = e.run(plan, { runId, principal });
    await expect.poll(async () => (await e.runs({ principal }))[0]?.stored, { timeout: 5000, interval: 5 }).toBe(1);
    run.cancel('deploy');
    await run.result.catch(() => undefined);
  }

  it('asks authorize again on resume: a rule that now refuses refuses, and nothing runs', async () => {
    const { source, release } = payroll();
    let open = true;
    executor = createExecutor({ sources: { pay: source }, cache: false, authorize: (p) => (open ? hrOnly(p) : 'payroll is closed'), runStore: sqliteRunStore({ file: ':memory:' }) });
    const alice = { id: 'alice', roles: ['hr'], token: 't-1' };
    await interrupted(executor, 'nightly', alice);
    release();
    open = false;
    await expect(executor.resume('nightly', { principal: alice })).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('payroll is closed') });
    expect(await executor.runs({ principal: alice })).toMatchObject([{ runId: 'nightly', state: 'interrupted', stored: 1 }]);
  });

  it('does not find the run for claims changed since (a role revoked, a token refreshed): nothing of other claims mixes in', async () => {
    const { source, release } = payroll();
    executor = createExecutor({ sources: { pay: source }, cache: false, authorize: hrOnly, runStore: sqliteRunStore({ file: ':memory:' }) });
    await interrupted(executor, 'nightly', { id: 'alice', roles: ['hr'], token: 't-1' });
    release();
    for (const now of [{ id: 'alice', roles: [], token: 't-2' }, { id: 'alice', roles: ['hr'], token: 't-2' }, { id: 'alice' }]) {
      await expect(executor.resume('nightly', { principal: now })).rejects.toMatchObject({ code: 'RUN_UNKNOWN' });
      expect(await executor.runs({ principal: now })).toEqual([]);
    }
    const resumed = await executor.resume('nightly', { principal: { token: 't-1', roles: ['hr'], id: 'alice' } });
    const result = await resumed.result;
    expect(result.fragments.a!.cached).toBe(true);
    expect(result.rows).toEqual([
      { part: 'a', caller: 'alice', token: 't-1' },
      { part: 'b', caller: 'alice', token: 't-1' },
    ]);
  });

  it('keeps the stored claims for another principal\'s run resumed with anyPrincipal', async () => {
    const { source, release } = payroll();
    executor = createExecutor({ sources: { pay: source }, cache: false, authorize: hrOnly, runStore: sqliteRunStore({ file: ':memory:' }) });
    await interrupted(executor, 'nightly', { id: 'bob', roles: ['hr'], token: 'bob-1' });
    release();
    const resumed = await executor.resume('nightly', { principal: { id: 'operator', roles: [], token: 'op' }, anyPrincipal: true });
    expect((await resumed.result).rows).toEqual([
      { part: 'a', caller: 'bob', token: 'bob-1' },
      { part: 'b', caller: 'bob', token: 'bob-1' },
    ]);
  });
});
