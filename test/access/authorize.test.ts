import { describe, expect, it } from 'vitest';
import { createExecutor } from '../../src/executor.js';
import { TributaryError } from '../../src/errors.js';
import { memorySource, type MemoryQuery } from '../../src/sources/memory/connector.js';
import type { Authorize } from '../../src/access/index.js';
import type { ExecutionEvent } from '../../src/progress/events.js';
import type { ExecuteContext, SourceExecutor } from '../../src/sources/source.js';

/** A memory source that records every call (and who made it). */
function spied(tables: Record<string, Record<string, unknown>[]>): SourceExecutor & { calls: ExecuteContext[] } {
  const inner = memorySource({ tables });
  const calls: ExecuteContext[] = [];
  return { ...inner, calls, execute: (q: MemoryQuery, ctx: ExecuteContext) => (calls.push(ctx), inner.execute(q, ctx)) };
}

const plan = () => ({
  id: 'people-and-pay',
  fragments: [
    { id: 'people', source: 'hr', query: { table: 'people' } },
    { id: 'pay', source: 'payroll', query: { table: 'pay' } },
  ],
  merge: { op: 'join', type: 'inner', left: 'people', right: 'pay', on: [['id', 'person']] },
});

function setup(authorize: Authorize) {
  const hr = spied({ people: [{ id: 1, name: 'Ada' }, { id: 2, name: 'Bo' }] });
  const payroll = spied({ pay: [{ person: 1, salary: 10 }, { person: 2, salary: 20 }] });
  const executor = createExecutor({ sources: { hr, payroll }, authorize, cache: false });
  return { hr, payroll, executor };
}

const onlyHrSeesPay: Authorize = (principal, { source }) => source !== 'payroll' || principal?.team === 'hr' || 'payroll is for the HR team';

/** What `fn` throws (fails the test if it does not). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return expect.fail('expected a throw');
}

describe('authorize (synchronous rule)', () => {
  it('refuses the whole run with FORBIDDEN naming the refused fragment; no source is called', async () => {
    const { hr, payroll, executor } = setup(onlyHrSeesPay);
    const error = thrown(() => executor.run(plan(), { principal: { id: 'mallory', team: 'sales' } })) as TributaryError;
    expect(error).toBeInstanceOf(TributaryError);
    expect(error.code).toBe('FORBIDDEN');
    expect(error.issues).toEqual([{ path: 'fragments[1]', message: 'fragment "pay" on source "payroll": payroll is for the HR team' }]);
    expect(error.message).toContain('principal "mallory"');
    expect(hr.calls).toHaveLength(0);
    expect(payroll.calls).toHaveLength(0);
    expect(executor.metrics().runningQueries).toBe(0);
    await executor.close();
  });

  it('runs the same plan for an allowed principal, who reaches the sources', async () => {
    const { hr, payroll, executor } = setup(onlyHrSeesPay);
    const result = await executor.execute(plan(), { principal: { id: 'hana', team: 'hr' } });
    expect(result.status).toBe('ok');
    expect(result.rows).toEqual([{ id: 1, name: 'Ada', person: 1, salary: 10 }, { id: 2, name: 'Bo', person: 2, salary: 20 }]);
    expect(payroll.calls.map((c) => c.principal?.id)).toEqual(['hana']);
    expect(hr.calls).toHaveLength(1);
    await executor.close();
  });

  it('asks once per fragment with the source, the fragment and the plan', async () => {
    const asked: string[] = [];
    const { executor } = setup((principal, { source, fragment, plan: p }) => (asked.push(`${principal?.id}:${source}:${fragment.id}:${p.id}`), true));
    await executor.execute(plan(), { principal: { id: 'p1' } });
    await executor.execute(plan());
    expect(asked).toEqual(['p1:hr:people:people-and-pay', 'p1:payroll:pay:people-and-pay', 'undefined:hr:people:people-and-pay', 'undefined:payroll:pay:people-and-pay']);
    await executor.close();
  });

  it('fails closed: false, a rule that throws, or an answer that is not true all refuse, each with its reason', async () => {
    const answers: Record<string, () => unknown> = {
      people: () => false,
      pay: () => {
        throw new Error('policy store down');
      },
    };
    const { executor, hr } = setup((_p, { fragment }) => answers[fragment.id]!() as boolean);
    const error = thrown(() => executor.run(plan(), { principal: { id: 'x' } })) as TributaryError;
    expect(error.code).toBe('FORBIDDEN');
    expect(error.issues.map((i) => i.path)).toEqual(['fragments[0]', 'fragments[1]']);
    expect(error.issues[0]!.message).toContain('refused by the access rule');
    expect(error.issues[1]!.message).toContain('authorize threw: policy store down');
    const odd = setup(() => undefined as unknown as boolean);
    expect((thrown(() => odd.executor.run(plan())) as TributaryError).issues[0]!.message).toContain('authorize answered undefined');
    expect(hr.calls).toHaveLength(0);
    await Promise.all([executor.close(), odd.executor.close()]);
  });

  it('rejects an authorize option that is not a function with CONFIG_INVALID', () => {
    const error = thrown(() => createExecutor({ authorize: 'yes' as unknown as Authorize })) as TributaryError;
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.issues[0]!.path).toBe('authorize');
  });
});

describe('authorize (asynchronous rule)', () => {
  /** A rule that answers only when the test lets it (no timer: the test decides when). */
  function gatedRule(): { rule: Authorize; answer(): void; answered: Promise<void> } {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let done!: () => void;
    const answered = new Promise<void>((resolve) => (done = resolve));
    let pending = 0;
    const rule: Authorize = async (principal, request) => {
      pending++;
      await gate;
      if (--pending === 0) done();
      return onlyHrSeesPay(principal, request);
    };
    return { rule, answer: open, answered };
  }
  const slowRule: Authorize = async (principal, request) => {
    await Promise.resolve();
    return onlyHrSeesPay(principal, request);
  };

  it('returns the run at once; a refusal rejects result with FORBIDDEN after query.failed, and no source is called', async () => {
    const { hr, payroll, executor } = setup(slowRule);
    const run = executor.run(plan(), { principal: { id: 'mallory', team: 'sales' } });
    const events: ExecutionEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    const error = (await run.result.then(() => expect.fail('expected FORBIDDEN'), (e: unknown) => e)) as TributaryError;
    expect(error.code).toBe('FORBIDDEN');
    expect(error.issues).toEqual([{ path: 'fragments[1]', message: 'fragment "pay" on source "payroll": payroll is for the HR team' }]);
    expect(events.map((e) => e.type)).toEqual(['query.failed']);
    expect(hr.calls).toHaveLength(0);
    expect(payroll.calls).toHaveLength(0);
    expect(executor.metrics().runningQueries).toBe(0);
    await executor.close();
  });

  it('starts the actor only after every answer allows', async () => {
    const gated = gatedRule();
    const { payroll, executor } = setup(gated.rule);
    const run = executor.run(plan(), { principal: { id: 'hana', team: 'hr' } });
    // Several turns of the event loop with the rule still deciding: nothing may start.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(payroll.calls).toHaveLength(0);
    expect(run.actor.getSnapshot().status).toBe('active');
    gated.answer();
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(payroll.calls).toHaveLength(1);
    await executor.close();
  });

  it('a cancel while the rule is thinking ends the run with CANCELLED at once; nothing runs later', async () => {
    const gated = gatedRule();
    const { hr, payroll, executor } = setup(gated.rule);
    const run = executor.run(plan(), { principal: { id: 'hana', team: 'hr' } });
    run.cancel('changed my mind');
    const error = (await run.result.then(() => expect.fail('expected CANCELLED'), (e: unknown) => e)) as TributaryError;
    expect(error.code).toBe('CANCELLED');
    // The rule answers (allowing) after the cancel: still nothing may run.
    gated.answer();
    await gated.answered;
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(hr.calls.length + payroll.calls.length).toBe(0);
    await executor.close();
  });

  it('one refusing promise among synchronous answers still refuses the run', async () => {
    const { executor, hr } = setup((_p, { source }) => (source === 'payroll' ? Promise.resolve('not today') : true));
    const run = executor.run(plan());
    await expect(run.result).rejects.toMatchObject({ code: 'FORBIDDEN', issues: [{ path: 'fragments[1]' }] });
    expect(hr.calls).toHaveLength(0);
    await executor.close();
  });
});

describe('a run keeps the principal it started with', () => {
  it('a principal object the caller reuses for the next request does not change whom a running query asks as, nor its cache scope', async () => {
    const seen: { who: unknown; level: string }[] = [];
    const whoami: SourceExecutor = {
      kind: 'whoami',
      querySchema: memorySource({ tables: {} }).querySchema,
      cacheScope: 'principal',
      // The second level's call comes a few milliseconds after the first level's.
      execute: async (q: MemoryQuery, ctx: ExecuteContext) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        seen.push({ who: ctx.principal?.id, level: q.table });
        return [{ who: ctx.principal?.id ?? null }];
      },
    };
    const executor = createExecutor({ sources: { w: whoami } });
    const plan = {
      fragments: [
        { id: 'first', source: 'w', query: { table: 'first' } },
        { id: 'second', source: 'w', dependsOn: ['first'], query: { table: 'second' } },
      ],
      merge: { op: 'union' as const, inputs: ['first', 'second'] },
    };
    try {
      const principal = { id: 'ann' };
      const first = executor.run(plan, { principal });
      principal.id = 'bob';
      const second = executor.run(plan, { principal });
      expect((await first.result).rows).toEqual([{ who: 'ann' }, { who: 'ann' }]);
      expect((await second.result).rows).toEqual([{ who: 'bob' }, { who: 'bob' }]);
      expect(seen.filter((s) => s.who === 'ann').map((s) => s.level).sort()).toEqual(['first', 'second']);
    } finally {
      await executor.close();
    }
  });
});

describe('authorize and run params', () => {
  it('sees the run\'s own params, so a rule can check the values a { $param } binds', async () => {
    const hr = spied({ people: [{ id: 1, tenant: 'a' }, { id: 2, tenant: 'b' }] });
    const executor = createExecutor({
      sources: { hr },
      cache: false,
      authorize: (principal, { params }) => params.tenant === principal?.tenant || `tenant ${String(params.tenant)} is not yours`,
    });
    const byTenant = { id: 't', fragments: [{ id: 'people', source: 'hr', query: { table: 'people', where: { eq: ['tenant', { $param: 'tenant' }] } } }] };
    const ok = await executor.execute(byTenant, { principal: { id: 'ann', tenant: 'a' }, params: { tenant: 'a' } });
    expect(ok.rows).toEqual([{ id: 1, tenant: 'a' }]);
    expect(() => executor.run(byTenant, { principal: { id: 'ann', tenant: 'a' }, params: { tenant: 'b' } })).toThrow(/tenant b is not yours/);
    expect(() => executor.run(byTenant, { principal: { id: 'ann', tenant: 'a' } })).toThrow(expect.objectContaining({ code: expect.stringMatching(/FORBIDDEN|PLAN_INVALID|CONFIG_INVALID/) }) as unknown as Error);
    expect(hr.calls).toHaveLength(1);
    await executor.close();
  });
});
