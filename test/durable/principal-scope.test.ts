import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createExecutor, redisRunStore, sqliteRunStore, storedRunKey, type Executor, type QueryRun, type RunStore } from '../../src/index.js';
import { describeRedis, dropKeys, REDIS_URL, uniqueNamespace } from '../support/redis.js';
import { moveRedisRun, moveSqliteRun } from './fixtures/move-run.js';
import { eventually } from '../support/servers.js';
import { A_ROWS, B_ROWS, gatedSource, twoFragmentPlan, type GatedSource } from './fixtures/sources.js';

const alice = { id: 'alice' };
const bob = { id: 'bob' };

interface StoreSetup {
  store(): RunStore;
  /** Moves a stored run to its bare id, as a store written before run ids were scoped holds it. */
  makeLegacy(key: string, runId: string): Promise<void>;
  /** Moves a stored run to another key (a row edited by hand). */
  rekey(key: string, to: string): Promise<void>;
}

/** Principal-scoped run ids, the same on every store. */
function scopedIds(setup: () => StoreSetup): void {
  let s: StoreSetup;
  let source: GatedSource;
  const open: Executor[] = [];
  const executor = (): Executor => {
    const e = createExecutor({ sources: { db: source }, cache: false, runStore: s.store(), runLeaseMs: 60_000 });
    open.push(e);
    return e;
  };
  beforeEach(() => {
    s = setup();
    source = gatedSource({ a: A_ROWS, b: B_ROWS });
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((e) => e.close()));
  });

  /** Starts `runId` as `principal` on its own executor and leaves it interrupted with `a` stored. */
  async function interrupted(runId: string, principal: { id: string } | undefined): Promise<void> {
    source.hold('b');
    const e = executor();
    const run = e.run(twoFragmentPlan, { runId, ...(principal ? { principal } : {}) });
    await source.running('b');
    expect(await eventually(async () => (await e.runs(principal ? { principal } : {})).some((r) => r.runId === runId && r.stored === 1))).toBe(true);
    await e.close();
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
  }

  const finish = async (run: QueryRun): Promise<string> => {
    source.release('b');
    return (await run.result).status;
  };

  it('two principals\' runs of one id are two runs: neither blocks, lists or resumes the other', async () => {
    await interrupted('nightly', alice);
    const e = executor();
    // Bob's run of the same id starts (it was refused RUN_LEASED, telling bob alice's run exists).
    source.release('b');
    expect((await e.run(twoFragmentPlan, { runId: 'nightly', principal: bob }).result).status).toBe('ok');
    // Nor does an anonymous run of that id see alice's.
    expect((await e.run(twoFragmentPlan, { runId: 'nightly' }).result).status).toBe('ok');
    // Bob finds no run "nightly" of his to resume; alice's is untouched and hers alone.
    await expect(e.resume('nightly', { principal: bob })).rejects.toMatchObject({ code: 'RUN_UNKNOWN', message: expect.not.stringContaining('alice') });
    await expect(e.resume('nightly')).rejects.toMatchObject({ code: 'RUN_UNKNOWN' });
    expect(await e.runs({ principal: bob })).toEqual([]);
    expect(await e.runs({ principal: alice })).toMatchObject([{ runId: 'nightly', principalId: 'alice', state: 'interrupted', stored: 1 }]);
    expect(source.calls).toEqual({ a: 3, b: 3 });
    expect(await finish(await e.resume('nightly', { principal: alice }))).toBe('ok');
    expect(source.calls).toEqual({ a: 3, b: 4 });
    expect(await e.runs({ anyPrincipal: true })).toEqual([]);
  });

  it('ids of a principal named like a scoped key, of the empty id and of no principal stay apart', async () => {
    await interrupted('x', { id: '' });
    await interrupted('x', undefined);
    await interrupted('x', { id: '=' });
    const e = executor();
    const listed = await e.runs({ anyPrincipal: true });
    const who = (runs: { runId: string; principalId: string | undefined }[]): string[] => runs.map((r) => `${r.runId} ${JSON.stringify(r.principalId ?? null)}`).sort();
    expect(who(listed)).toEqual(['x ""', 'x "="', 'x null']);
    expect(await finish(await e.resume('x', { principal: { id: '=' } }))).toBe('ok');
    expect(who(await e.runs({ anyPrincipal: true }))).toEqual(['x ""', 'x null']);
  });

  it('anyPrincipal resumes the one run of that id, and says so when several principals have one', async () => {
    await interrupted('shared', alice);
    await interrupted('only-bob', bob);
    await interrupted('shared', bob);
    const e = executor();
    await expect(e.resume('shared', { principal: { id: 'operator' }, anyPrincipal: true })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      issues: [{ path: 'principal' }],
      message: expect.stringMatching(/several principals \("alice", "bob"\)/),
    });
    // The caller's own run of the id comes first; a single other one is found.
    expect(await finish(await e.resume('shared', { principal: bob, anyPrincipal: true }))).toBe('ok');
    expect(await finish(await e.resume('only-bob', { principal: { id: 'operator' }, anyPrincipal: true }))).toBe('ok');
    expect((await e.runs({ anyPrincipal: true })).map((r) => `${r.runId}/${r.principalId}`)).toEqual(['shared/alice']);
  });

  it('a run stored before run ids were scoped stays its principal\'s: resumable, listed, and holding its id', async () => {
    await interrupted('old', alice);
    await s.makeLegacy(storedRunKey('old', 'alice'), 'old');
    const e = executor();
    expect(await e.runs({ principal: alice })).toMatchObject([{ runId: 'old', principalId: 'alice', stored: 1 }]);
    await expect(e.resume('old', { principal: bob })).rejects.toMatchObject({ code: 'RUN_UNKNOWN' });
    // Alice's id is still taken by it; bob's is not.
    await expect(e.run(twoFragmentPlan, { runId: 'old', principal: alice }).result).rejects.toMatchObject({ code: 'RUN_LEASED' });
    source.release('b');
    expect((await e.run(twoFragmentPlan, { runId: 'old', principal: bob }).result).status).toBe('ok');
    expect(await finish(await e.resume('old', { principal: alice }))).toBe('ok');
    expect(source.calls).toEqual({ a: 2, b: 3 });
    expect(await e.runs({ anyPrincipal: true })).toEqual([]);
  });

  it('a stored run whose key names another principal than its record is nobody\'s', async () => {
    await interrupted('forged', alice);
    await s.rekey(storedRunKey('forged', 'alice'), storedRunKey('forged', 'bob'));
    const e = executor();
    await expect(e.resume('forged', { principal: bob })).rejects.toMatchObject({ code: 'RUN_UNKNOWN' });
    await expect(e.resume('forged', { principal: alice })).rejects.toMatchObject({ code: 'RUN_UNKNOWN' });
    await expect(e.resume('forged', { anyPrincipal: true })).rejects.toMatchObject({ code: 'RUN_UNKNOWN' });
    expect(await e.runs({ anyPrincipal: true })).toEqual([]);
  });
}

describe('principal-scoped run ids: SQLite run store', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-scope-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  scopedIds(() => {
    const file = join(dir, `runs-${n++}.db`);
    const move = moveSqliteRun(file);
    return { store: () => sqliteRunStore({ file }), makeLegacy: move, rekey: move };
  });
});

describeRedis('principal-scoped run ids: Redis run store', () => {
  const prefixes: string[] = [];
  afterAll(() => dropKeys(...prefixes));
  scopedIds(() => {
    const prefix = `${uniqueNamespace()}:runs:`;
    prefixes.push(prefix);
    const move = moveRedisRun(prefix);
    return { store: () => redisRunStore({ url: REDIS_URL, prefix }), makeLegacy: move, rekey: move };
  });
});
