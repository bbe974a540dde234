import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createExecutor, isTributaryError, readRunSnapshot, sqliteRunStore, storedRunKey, type Executor, type QueryResult } from '../../src/index.js';
import { eventually } from '../support/servers.js';
import { A_ROWS, B_ROWS, gatedSource, twoFragmentPlan, type GatedSource } from './fixtures/sources.js';

const alice = { id: 'alice', role: 'analyst' };

describe('durable runs (SQLite run store, in one process)', () => {
  let dir: string;
  let file: string;
  const open: Executor[] = [];
  const executor = (source: GatedSource, extra: { ttlMs?: number } = {}): Executor => {
    const e = createExecutor({ sources: { db: source }, cache: false, runStore: sqliteRunStore({ file, ...extra }), runLeaseMs: 60_000 });
    open.push(e);
    return e;
  };
  const reference = async (): Promise<QueryResult> => {
    const e = createExecutor({ sources: { db: gatedSource({ a: A_ROWS, b: B_ROWS }) }, cache: false });
    try {
      return await e.execute(twoFragmentPlan);
    } finally {
      await e.close();
    }
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-durable-'));
    file = join(dir, 'runs.db');
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((e) => e.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the plan with an id until `a` is stored and `b` is running, then closes that executor. */
  async function interrupted(runId: string, source: GatedSource): Promise<void> {
    source.hold('b');
    const first = executor(source);
    const run = first.run(twoFragmentPlan, { runId, principal: alice });
    await source.running('b');
    expect(await eventually(async () => (await first.runs({ principal: alice })).some((r) => r.runId === runId && r.stored === 1))).toBe(true);
    await first.close();
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
  }

  it('resumes a run: stored fragments are not called again, the result is an uninterrupted run\'s', async () => {
    const source = gatedSource({ a: A_ROWS, b: B_ROWS });
    await interrupted('r1', source);
    expect(source.calls).toEqual({ a: 1, b: 1 });

    const second = executor(source);
    const listed = await second.runs({ principal: alice });
    expect(listed).toMatchObject([{ runId: 'r1', queryId: 'durable-two', principalId: 'alice', state: 'interrupted', fragments: 2, stored: 1 }]);
    source.release('b');
    const run = await second.resume('r1', { principal: alice });
    const types: string[] = [];
    const runIds = new Set<string>();
    run.events$.subscribe((e) => {
      types.push(`${e.type}${'fragmentId' in e ? ` ${e.fragmentId}` : ''}`);
      runIds.add(e.runId);
    });
    const result = await run.result;
    // The resumed run is the same run: its id is the durable one, on its events and result.
    expect(run.runId).toBe('r1');
    expect([...runIds]).toEqual(['r1']);
    expect(result.runId).toBe('r1');
    const expected = await reference();
    expect(result.status).toBe('ok');
    expect(result.rows).toEqual(expected.rows);
    expect(result.columns).toEqual(expected.columns);
    // Dates and bigints came back from the store as they were.
    expect(result.rows[0]!.since).toBeInstanceOf(Date);
    expect(typeof result.rows[0]!.big).toBe('bigint');
    expect(source.calls).toEqual({ a: 1, b: 2 });
    expect(result.fragments.a).toMatchObject({ status: 'succeeded', cached: true, attempts: 0 });
    expect(result.fragments.b).toMatchObject({ status: 'succeeded', cached: false, attempts: 1 });
    expect(types).toContain('fragment.cached a');
    // Finished: removed from the store.
    expect(await second.runs({ anyPrincipal: true })).toEqual([]);
    await expect(second.resume('r1', { principal: alice })).rejects.toMatchObject({ code: 'RUN_UNKNOWN' });
  });

  it('stores the query machine\'s persisted snapshot with each fragment', async () => {
    const source = gatedSource({ a: A_ROWS, b: B_ROWS });
    await interrupted('snap', source);
    const store = sqliteRunStore({ file });
    try {
      const stored = await store.get(storedRunKey('snap', alice), Date.now());
      const snapshot = readRunSnapshot(stored?.snapshot);
      expect(snapshot).toMatchObject({ status: 'active', value: 'executing-level-1', context: { queryId: 'durable-two' } });
      expect(stored?.principalId).toBe('alice');
    } finally {
      await store.close();
    }
  });

  it('refuses a run leased elsewhere; of two concurrent resumes exactly one wins', async () => {
    const source = gatedSource({ a: A_ROWS, b: B_ROWS });
    source.hold('b');
    const first = executor(source);
    const run = first.run(twoFragmentPlan, { runId: 'r2', principal: alice });
    await source.running('b');
    // The first executor holds the run while it lives.
    const other = executor(source);
    const refused = await other.resume('r2', { principal: alice }).catch((e: unknown) => e);
    expect(isTributaryError(refused, 'RUN_LEASED')).toBe(true);
    expect((refused as Error).message).toMatch(/another executor/);
    // Starting the same id again is refused too (the store keeps the first).
    const again = first.run(twoFragmentPlan, { runId: 'r2', principal: alice });
    await expect(again.result).rejects.toMatchObject({ code: 'RUN_LEASED' });
    await first.close();
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });

    const x = executor(source);
    const y = executor(source);
    const outcomes = await Promise.allSettled([x.resume('r2', { principal: alice }), y.resume('r2', { principal: alice })]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toMatchObject({ name: 'TributaryError', code: 'RUN_LEASED' });
    source.release('b');
    const result = await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<Executor['resume']>>>).value.result;
    expect(result.rows).toEqual((await reference()).rows);
    expect(source.calls.a).toBe(1);
  });

  it('resumes only under the principal the run was started under, unless told otherwise', async () => {
    const source = gatedSource({ a: A_ROWS, b: B_ROWS });
    await interrupted('r3', source);
    const second = executor(source);
    // Run ids are scoped by principal: another principal (or none) finds no run of that id at all.
    await expect(second.resume('r3', { principal: { id: 'mallory' } })).rejects.toMatchObject({ code: 'RUN_UNKNOWN' });
    await expect(second.resume('r3')).rejects.toMatchObject({ code: 'RUN_UNKNOWN' });
    expect(await second.runs({ principal: { id: 'mallory' } })).toEqual([]);
    expect(await second.runs()).toEqual([]);
    expect((await second.runs({ anyPrincipal: true })).map((r) => r.runId)).toEqual(['r3']);
    // A principal without a string id is refused as such, not compared as "no principal".
    await expect(second.resume('r3', { principal: 'alice' as never })).rejects.toMatchObject({ code: 'CONFIG_INVALID', issues: [{ path: 'principal' }] });
    await expect(second.runs({ principal: { name: 'alice' } as never })).rejects.toMatchObject({ code: 'CONFIG_INVALID', issues: [{ path: 'principal' }] });
    await expect(second.resume('r3', null as never)).rejects.toMatchObject({ code: 'CONFIG_INVALID', issues: [{ path: '(root)' }] });
    await expect(second.runs('alice' as never)).rejects.toMatchObject({ code: 'CONFIG_INVALID', issues: [{ path: '(root)' }] });
    source.release('b');
    const run = await second.resume('r3', { principal: { id: 'admin' }, anyPrincipal: true });
    expect((await run.result).rows).toEqual((await reference()).rows);
  });

  it('a resume that authorize refuses leaves the run stored as interrupted, sync, async or throwing alike', async () => {
    const source = gatedSource({ a: A_ROWS, b: B_ROWS });
    await interrupted('r-auth', source);
    const refusing = (authorize: () => unknown): Executor => {
      const e = createExecutor({ sources: { db: source }, cache: false, runStore: sqliteRunStore({ file }), runLeaseMs: 60_000, authorize: authorize as never });
      open.push(e);
      return e;
    };
    const stillStored = async (e: Executor): Promise<void> => {
      expect(await e.runs({ principal: alice })).toMatchObject([{ runId: 'r-auth', state: 'interrupted', stored: 1, leaseOwner: undefined }]);
    };
    const sync = refusing(() => 'policy says no');
    await expect(sync.resume('r-auth', { principal: alice })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await stillStored(sync);
    const later = refusing(async () => 'policy says no');
    await expect((await later.resume('r-auth', { principal: alice })).result).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('policy says no') });
    await stillStored(later);
    const down = refusing(async () => {
      throw new Error('policy service down');
    });
    await expect((await down.resume('r-auth', { principal: alice })).result).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('policy service down') });
    await stillStored(down);
    // Nothing ran on any refusal, and a rule that allows it finishes the run from its stored rows.
    expect(source.calls).toEqual({ a: 1, b: 1 });
    source.release('b');
    const allowed = refusing(async () => true);
    expect((await (await allowed.resume('r-auth', { principal: alice })).result).rows).toEqual((await reference()).rows);
    expect(source.calls).toEqual({ a: 1, b: 2 });
  });

  it('keeps a finished run for the store\'s ttlMs, listed with its state', async () => {
    const source = gatedSource({ a: A_ROWS, b: B_ROWS });
    const e = executor(source, { ttlMs: 60_000 });
    const result = await e.run(twoFragmentPlan, { runId: 'kept' }).result;
    expect(result.status).toBe('ok');
    expect(await e.runs()).toMatchObject([{ runId: 'kept', state: 'done', stored: 2, leaseOwner: undefined }]);
    await expect(e.resume('kept')).rejects.toMatchObject({ code: 'RUN_UNKNOWN' });
    // Another principal finds no such run, as for a running one: it learns nothing of how it ended.
    const refused: unknown = await e.resume('kept', { principal: { id: 'mallory' } }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'RUN_UNKNOWN' });
    const never: unknown = await e.resume('never', { principal: { id: 'mallory' } }).catch((error: unknown) => error);
    expect((refused as Error).message).toBe((never as Error).message.replace('"never"', '"kept"'));
  });

  it('anyPrincipal passes over a finished run kept for listing: the one still resumable is resumed', async () => {
    const source = gatedSource({ a: A_ROWS, b: B_ROWS });
    const e = executor(source, { ttlMs: 60_000 });
    expect((await e.run(twoFragmentPlan, { runId: 'mixed', principal: { id: 'bob' } }).result).status).toBe('ok');
    await interrupted('mixed', source);
    const kept = executor(source, { ttlMs: 60_000 });
    expect((await kept.runs({ anyPrincipal: true })).map((r) => `${r.principalId} ${r.state}`).sort()).toEqual(['alice interrupted', 'bob done']);
    source.release('b');
    const run = await kept.resume('mixed', { principal: { id: 'operator' }, anyPrincipal: true });
    expect((await run.result).rows).toEqual((await reference()).rows);
    expect((await kept.runs({ anyPrincipal: true })).map((r) => `${r.principalId} ${r.state}`).sort()).toEqual(['alice done', 'bob done']);
  });

  it('a run without a runId stores nothing, even on an executor with a run store', async () => {
    const e = executor(gatedSource({ a: A_ROWS, b: B_ROWS }));
    const result = await e.run(twoFragmentPlan, { principal: alice }).result;
    expect(result.rows).toEqual((await reference()).rows);
    expect(await e.runs({ anyPrincipal: true })).toEqual([]);
  });

  it('says clearly what is wrong: unknown run, no store, bad id', async () => {
    const source = gatedSource({ a: A_ROWS, b: B_ROWS });
    const e = executor(source);
    await expect(e.resume('nope')).rejects.toMatchObject({ code: 'RUN_UNKNOWN', message: expect.stringContaining('"nope"') });
    expect(() => e.run(twoFragmentPlan, { runId: 'bad id with spaces' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    const plain = createExecutor({ sources: { db: source } });
    try {
      expect(() => plain.run(twoFragmentPlan, { runId: 'x' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
      await expect(plain.resume('x')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    } finally {
      await plain.close();
    }
  });
});
