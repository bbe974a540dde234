import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createExecutor, redisRunStore, sqliteRunStore, storedRunKey, type Executor, type ExecutorOptions, type Row, type RunStore, type SourceExecutor } from '../../src/index.js';
import { describeRedis, dropKeys, inspectClient, REDIS_URL, uniqueNamespace } from '../support/redis.js';

/*
 * Durable runs against real stores (an SQLite file, a real Redis), probed the way an
 * attacker or an unlucky deployment would: params stored under an older, looser bound; two
 * processes resuming one run at once; a stored record edited by hand; a run resumed by an
 * executor whose sources are not the ones it started with.
 */
interface StoreSetup {
  store(): RunStore;
  /** Sets a column of a stored run's record (SQLite column / Redis hash field). */
  edit(key: string, field: 'principalId' | 'queryId', value: string): Promise<void>;
}

function partsSource() {
  const calls: Record<string, number> = {};
  let release!: () => void;
  let released = new Promise<void>((resolve) => (release = resolve));
  const source: SourceExecutor<{ part: string; note?: unknown }> = {
    kind: 'parts',
    querySchema: z.strictObject({ part: z.string(), note: z.unknown().optional() }),
    async execute(query, ctx): Promise<Row[]> {
      calls[query.part] = (calls[query.part] ?? 0) + 1;
      if (query.part === 'b') {
        await new Promise<void>((resolve, reject) => {
          void released.then(resolve);
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true });
        });
      }
      return [{ part: query.part, note: typeof query.note === 'string' ? query.note.length : null }];
    },
  };
  return {
    source,
    calls,
    release: (): void => release(),
    hold: (): void => {
      released = new Promise<void>((resolve) => (release = resolve));
    },
  };
}

const plan = { id: 'parts', fragments: [{ id: 'a', source: 's', query: { part: 'a' } }, { id: 'b', source: 's', dependsOn: ['a'], query: { part: 'b' } }], merge: { op: 'union', inputs: ['a', 'b'] } };
const alice = { id: 'alice' };

function probes(setup: () => StoreSetup): void {
  let s: StoreSetup;
  let src: ReturnType<typeof partsSource>;
  const open: Executor[] = [];
  const executor = (options: Partial<ExecutorOptions> = {}): Executor => {
    const e = createExecutor({ sources: { s: src.source }, cache: false, runStore: s.store(), runLeaseMs: 60_000, ...options });
    open.push(e);
    return e;
  };
  beforeEach(() => {
    s = setup();
    src = partsSource();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((e) => e.close()));
  });

  /** Starts `runId` on its own executor and leaves it interrupted with `a` stored. */
  async function interrupted(runId: string, thePlan: unknown = plan, options: Partial<ExecutorOptions> = {}, params?: Record<string, unknown>): Promise<void> {
    src.hold();
    const e = executor(options);
    const run = e.run(thePlan, { runId, principal: alice, ...(params ? { params } : {}) });
    await expect.poll(async () => (await e.runs({ principal: alice })).find((r) => r.runId === runId)?.stored, { timeout: 5000, interval: 5 }).toBe(1);
    await e.close();
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    src.release();
  }

  const listed = async (e: Executor): Promise<unknown[]> => (await e.runs({ principal: alice })).map((r) => ({ runId: r.runId, state: r.state, leaseOwner: r.leaseOwner }));

  it('params over maxPlanBytes stored under a looser bound: resume refuses PLAN_INVALID, gives the lease back, and a looser executor finishes it', async () => {
    const paramPlan = { ...plan, fragments: [plan.fragments[0], { ...plan.fragments[1], query: { part: 'b', note: { $param: 'note' } } }] };
    const note = 'x'.repeat(1.5 * 2 ** 20);
    await interrupted('big', paramPlan, { limits: { maxPlanBytes: 4 * 2 ** 20 } }, { note });
    const strict = executor();
    await expect(strict.resume('big', { principal: alice })).rejects.toMatchObject({ code: 'PLAN_INVALID', issues: [{ path: 'params.note' }] });
    expect(await listed(strict)).toEqual([{ runId: 'big', state: 'interrupted', leaseOwner: undefined }]);
    const loose = executor({ limits: { maxPlanBytes: 4 * 2 ** 20 } });
    const result = await (await loose.resume('big', { principal: alice })).result;
    expect(result.rows).toEqual([{ part: 'a', note: null }, { part: 'b', note: note.length }]);
    expect(src.calls).toEqual({ a: 1, b: 2 });
  });

  it('two executors resuming one run at once: exactly one runs it, the other gets RUN_LEASED', async () => {
    await interrupted('race');
    const [one, two] = [executor(), executor()];
    const settled = await Promise.allSettled([one.resume('race', { principal: alice }), two.resume('race', { principal: alice })]);
    const won = settled.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    expect(settled.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'RUN_LEASED' } });
    expect((await won[0]!.value.result).status).toBe('ok');
    expect(src.calls).toEqual({ a: 1, b: 2 });
    expect(await listed(one)).toEqual([]);
  });

  it('a record edited to name another principal is nobody\'s: neither principal finds or lists it', async () => {
    await interrupted('edited');
    await s.edit(storedRunKey('edited', alice), 'principalId', 'bob');
    const e = executor();
    await expect(e.resume('edited', { principal: alice })).rejects.toMatchObject({ code: 'RUN_UNKNOWN' });
    await expect(e.resume('edited', { principal: { id: 'bob' } })).rejects.toMatchObject({ code: 'RUN_UNKNOWN' });
    expect(await e.runs({ anyPrincipal: true })).toEqual([]);
    expect(src.calls).toEqual({ a: 1, b: 1 });
  });

  it('a record edited to name another plan is refused as damaged, its stored rows unread into the run', async () => {
    await interrupted('replanned');
    await s.edit(storedRunKey('replanned', alice), 'queryId', 'payroll');
    const e = executor();
    await expect(e.resume('replanned', { principal: alice })).rejects.toMatchObject({ code: 'SOURCE_BAD_RESPONSE', message: expect.stringContaining('stored run "replanned" is damaged') });
    expect(await listed(e)).toEqual([{ runId: 'replanned', state: 'interrupted', leaseOwner: undefined }]);
    expect(src.calls).toEqual({ a: 1, b: 1 });
  });

  it('resumed by an executor whose sources do not take the stored plan: PLAN_INVALID / SOURCE_UNKNOWN, lease given back, resumable where they do', async () => {
    await interrupted('moved');
    const other = createExecutor({ sources: { s: { kind: 'other', querySchema: z.strictObject({ table: z.string() }), execute: async () => [] } }, cache: false, runStore: s.store(), runLeaseMs: 60_000 });
    open.push(other);
    await expect(other.resume('moved', { principal: alice })).rejects.toMatchObject({ code: 'PLAN_INVALID' });
    const none = executor({ sources: {} });
    await expect(none.resume('moved', { principal: alice })).rejects.toMatchObject({ code: 'SOURCE_UNKNOWN' });
    expect(await listed(none)).toEqual([{ runId: 'moved', state: 'interrupted', leaseOwner: undefined }]);
    expect((await (await executor().resume('moved', { principal: alice })).result).status).toBe('ok');
    expect(src.calls).toEqual({ a: 1, b: 2 });
  });
}

describe('durable runs probed: SQLite run store file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-probe-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  probes(() => {
    const file = join(dir, `runs-${n++}.db`);
    const columns = { principalId: 'principal_id', queryId: 'query_id' } as const;
    const edit = async (key: string, field: 'principalId' | 'queryId', value: string): Promise<void> => {
      const db = new Database(file);
      try {
        db.prepare(`UPDATE tributary_runs SET ${columns[field]} = ? WHERE run_id = ?`).run(value, key);
      } finally {
        db.close();
      }
    };
    return { store: () => sqliteRunStore({ file }), edit };
  });
});

describeRedis('durable runs probed: Redis run store', () => {
  const prefixes: string[] = [];
  afterAll(() => dropKeys(...prefixes));
  probes(() => {
    const prefix = `${uniqueNamespace()}:runs:`;
    prefixes.push(prefix);
    const edit = async (key: string, field: 'principalId' | 'queryId', value: string): Promise<void> => {
      const client = inspectClient();
      try {
        // The store keeps a principal id behind a marker (`=`), so the empty id and none differ.
        await client.hset(`${prefix}run:${key}`, field, field === 'principalId' ? `=${value}` : value);
      } finally {
        client.disconnect();
      }
    };
    return { store: () => redisRunStore({ url: REDIS_URL, prefix }), edit };
  });
});
