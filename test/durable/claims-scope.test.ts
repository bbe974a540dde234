import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createExecutor, redisRunStore, sqliteRunStore, storedRunKey, type Executor, type Principal, type Row, type RunStore } from '../../src/index.js';
import { describeRedis, dropKeys, REDIS_URL, uniqueNamespace } from '../support/redis.js';
import { heldPartSource } from './fixtures/held-part.js';
import { moveRedisRun, moveSqliteRun } from './fixtures/move-run.js';

/*
 * A source may answer by a claim, so a durable run belongs to its principal's whole scope —
 * its id and its claims, as the cache's entries do: `{ id: 'ann', tenant: 'b' }`'s run is not
 * `{ id: 'ann', tenant: 'a' }`'s. Resumed by the other, it would hand tenant a the stored rows
 * of tenant b and fetch the rest with tenant a's claims: a mixed, leaked result.
 */
const annA = { id: 'ann', tenant: 'a' };
const annB = { id: 'ann', tenant: 'b' };

interface StoreSetup {
  store(): RunStore;
  /** Moves a stored run to another key (a store of an earlier version, a row edited by hand). */
  move(key: string, to: string): Promise<void>;
}

/** Every row says which tenant's claims fetched it; `b` waits until released (or aborted). */
const tenantSource = () => heldPartSource((part, principal) => ({ part, tenant: (principal?.tenant as string | undefined) ?? null }));

const plan = { id: 'tenants', fragments: [{ id: 'a', source: 't', query: { part: 'a' } }, { id: 'b', source: 't', dependsOn: ['a'], query: { part: 'b' } }], merge: { op: 'union', inputs: ['a', 'b'] } };
const tenantRows = (tenant: string): Row[] => [{ part: 'a', tenant }, { part: 'b', tenant }];

function claimsScope(setup: () => StoreSetup): void {
  let s: StoreSetup;
  let t: ReturnType<typeof tenantSource>;
  const open: Executor[] = [];
  const executor = (): Executor => {
    const e = createExecutor({ sources: { t: t.source }, cache: false, runStore: s.store(), runLeaseMs: 60_000 });
    open.push(e);
    return e;
  };
  beforeEach(() => {
    s = setup();
    t = tenantSource();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((e) => e.close()));
  });

  /** Starts `runId` as `principal` on its own executor and leaves it interrupted with `a` stored. */
  async function interrupted(runId: string, principal: Principal): Promise<void> {
    t.hold();
    const e = executor();
    const run = e.run(plan, { runId, principal });
    await expect.poll(async () => (await e.runs({ principal })).find((r) => r.runId === runId)?.stored, { timeout: 5000, interval: 5 }).toBe(1);
    await e.close();
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    t.release();
  }

  const unknown = { code: 'RUN_UNKNOWN', message: 'no stored run has the id "nightly" for this principal (never stored, finished, or expired)' };

  it('a run of one principal id with other claims is another scope\'s: not resumed, listed nor blocking, never mixed', async () => {
    await interrupted('nightly', annB);
    const e = executor();
    // Exactly what a run that does not exist gives.
    await expect(e.resume('nightly', { principal: annA })).rejects.toMatchObject(unknown);
    await expect(e.resume('nightly', { principal: { id: 'ann' } })).rejects.toMatchObject(unknown);
    expect(await e.runs({ principal: annA })).toEqual([]);
    expect(await e.runs({ principal: { id: 'ann' } })).toEqual([]);
    // Tenant a's own run of that id starts, and is tenant a's alone.
    expect((await e.run(plan, { runId: 'nightly', principal: annA }).result).rows).toEqual(tenantRows('a'));
    // Tenant b's run is untouched: resumed by tenant b, every row is tenant b's.
    expect(await e.runs({ principal: annB })).toMatchObject([{ runId: 'nightly', principalId: 'ann', state: 'interrupted', stored: 1 }]);
    const resumed = await (await e.resume('nightly', { principal: annB })).result;
    expect(resumed.fragments.a!.cached).toBe(true);
    expect(resumed.rows).toEqual(tenantRows('b'));
  });

  it('anyPrincipal on a run of the same id with other claims runs it with the stored claims, not the caller\'s', async () => {
    await interrupted('nightly', annB);
    const e = executor();
    expect((await (await e.resume('nightly', { principal: annA, anyPrincipal: true })).result).rows).toEqual(tenantRows('b'));
  });

  it('a run an earlier version stored under the id only (runId~=ann) is found by the claims stored with it alone', async () => {
    await interrupted('nightly', annB);
    await s.move(storedRunKey('nightly', annB), storedRunKey('nightly', 'ann'));
    const e = executor();
    await expect(e.resume('nightly', { principal: annA })).rejects.toMatchObject(unknown);
    await expect(e.resume('nightly', { principal: { id: 'ann' } })).rejects.toMatchObject(unknown);
    expect(await e.runs({ principal: annA })).toEqual([]);
    expect(await e.runs({ principal: { id: 'ann' } })).toEqual([]);
    // Tenant b's id is still taken by it; resumed, it is tenant b's run.
    expect(await e.runs({ principal: annB })).toMatchObject([{ runId: 'nightly', stored: 1 }]);
    await expect(e.run(plan, { runId: 'nightly', principal: annB }).result).rejects.toMatchObject({ code: 'RUN_LEASED' });
    expect((await (await e.resume('nightly', { principal: annB })).result).rows).toEqual(tenantRows('b'));
  });

  it('claims with no stable form (a cycle) cannot scope a run: CONFIG_INVALID at principal, nothing stored', async () => {
    const cyclic: Principal = { id: 'ann', tenant: 'a' };
    cyclic.self = cyclic;
    const e = executor();
    const refused = { code: 'CONFIG_INVALID', issues: [{ path: 'principal' }] };
    let thrown: unknown;
    try {
      e.run(plan, { runId: 'nightly', principal: cyclic });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject(refused);
    await expect(e.resume('nightly', { principal: cyclic })).rejects.toMatchObject(refused);
    await expect(e.runs({ principal: cyclic })).rejects.toMatchObject(refused);
    expect(await e.runs({ anyPrincipal: true })).toEqual([]);
  });

  it('a stored run moved under another scope\'s key (a row edited by hand) is nobody\'s', async () => {
    await interrupted('nightly', annB);
    await s.move(storedRunKey('nightly', annB), storedRunKey('nightly', annA));
    const e = executor();
    await expect(e.resume('nightly', { principal: annA })).rejects.toMatchObject(unknown);
    await expect(e.resume('nightly', { principal: annB })).rejects.toMatchObject(unknown);
    await expect(e.resume('nightly', { principal: { id: 'operator' }, anyPrincipal: true })).rejects.toMatchObject({ code: 'RUN_UNKNOWN' });
    expect(await e.runs({ principal: annA })).toEqual([]);
    expect(await e.runs({ principal: annB })).toEqual([]);
    expect(await e.runs({ anyPrincipal: true })).toEqual([]);
  });
}

describe('durable runs scoped by claims: SQLite run store', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-claims-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  claimsScope(() => {
    const file = join(dir, `runs-${n++}.db`);
    const move = moveSqliteRun(file);
    return { store: () => sqliteRunStore({ file }), move };
  });
});

describeRedis('durable runs scoped by claims: Redis run store', () => {
  const prefixes: string[] = [];
  afterAll(() => dropKeys(...prefixes));
  claimsScope(() => {
    const prefix = `${uniqueNamespace()}:runs:`;
    prefixes.push(prefix);
    const move = moveRedisRun(prefix);
    return { store: () => redisRunStore({ url: REDIS_URL, prefix }), move };
  });
});
