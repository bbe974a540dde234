import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createExecutor, readRunSnapshot, redisRunStore, sqliteRunStore, storedRunKey, type Executor, type RunStore } from '../../src/index.js';
import { describeRedis, freezableProxy, inspectClient, REDIS_URL, uniqueNamespace } from '../support/redis.js';
import { eventually } from '../support/servers.js';
import { A_ROWS, B_ROWS, gatedSource, twoFragmentPlan } from './fixtures/sources.js';

describe('run stores: what comes back is checked, leases are kept', () => {
  let dir: string;
  let file: string;
  const open: Executor[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-store-'));
    file = join(dir, 'runs.db');
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((e) => e.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function interruptedRun(runId: string, leaseMs = 60_000): Promise<void> {
    const source = gatedSource({ a: A_ROWS, b: B_ROWS });
    source.hold('b');
    const e = createExecutor({ sources: { db: source }, runStore: sqliteRunStore({ file }), runLeaseMs: leaseMs });
    const run = e.run(twoFragmentPlan, { runId });
    await source.running('b');
    expect(await eventually(async () => (await e.runs()).some((r) => r.stored === 1))).toBe(true);
    await e.close();
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
  }

  it('a tampered fragment is refused with a clear error, and the run stays resumable', async () => {
    await interruptedRun('tampered');
    const db = new Database(file);
    db.prepare('UPDATE tributary_run_fragments SET data = ? WHERE run_id = ?').run(Buffer.from('not gzip at all'), storedRunKey('tampered', undefined));
    db.close();
    const e = createExecutor({ sources: { db: gatedSource({ a: A_ROWS, b: B_ROWS }) }, runStore: sqliteRunStore({ file }) });
    open.push(e);
    await expect(e.resume('tampered')).rejects.toMatchObject({ code: 'SOURCE_BAD_RESPONSE', message: expect.stringContaining('stored run "tampered" is damaged') });
    // The lease it took was given back.
    expect(await e.runs()).toMatchObject([{ runId: 'tampered', state: 'interrupted', leaseOwner: undefined }]);
  });

  it('a fragment whose rows were lost (or cut short) is refused, not resumed as fewer rows', async () => {
    await interruptedRun('wiped');
    await interruptedRun('cut');
    const db = new Database(file);
    db.prepare('UPDATE tributary_run_fragments SET data = NULL WHERE run_id = ?').run(storedRunKey('wiped', undefined));
    db.prepare('UPDATE tributary_run_fragments SET row_count = row_count + 1 WHERE run_id = ?').run(storedRunKey('cut', undefined));
    db.close();
    const source = gatedSource({ a: A_ROWS, b: B_ROWS });
    const e = createExecutor({ sources: { db: source }, runStore: sqliteRunStore({ file }) });
    open.push(e);
    await expect(e.resume('wiped')).rejects.toMatchObject({ code: 'SOURCE_BAD_RESPONSE', message: expect.stringContaining('fragment "a" should hold 3 rows but holds none') });
    await expect(e.resume('cut')).rejects.toMatchObject({ code: 'SOURCE_BAD_RESPONSE', message: expect.stringContaining('fragment "a" holds 3 rows, but 4 were stored') });
    expect(source.calls).toEqual({});
    expect((await e.runs()).map((r) => [r.runId, r.state])).toEqual([['wiped', 'interrupted'], ['cut', 'interrupted']]);
  });

  it('stored rows beyond the fragment\'s maxRows are refused', async () => {
    await interruptedRun('too-many');
    const e = createExecutor({ sources: { db: gatedSource({ a: A_ROWS, b: B_ROWS }) }, runStore: sqliteRunStore({ file }), rowLimits: { maxRows: 2 } });
    open.push(e);
    await expect(e.resume('too-many')).rejects.toMatchObject({ code: 'SOURCE_BAD_RESPONSE', message: expect.stringContaining('more than maxRows=2') });
  });

  it('a file that cannot be a run store is CONFIG_INVALID at runStore.file, not a driver error', () => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not an SQLite database, '.repeat(100));
    const foreign = join(dir, 'foreign.db');
    const db = new Database(foreign);
    db.exec('CREATE TABLE tributary_runs (id INTEGER PRIMARY KEY, note TEXT)');
    db.close();
    for (const [bad, why] of [
      [text, 'file is not a database'],
      [join(dir, 'no', 'such', 'dir', 'runs.db'), 'directory does not exist'],
      [dir, 'unable to open'],
      [foreign, 'its table tributary_runs is not a run store\'s (no column run_id'],
    ] as const) {
      let error: unknown;
      try {
        sqliteRunStore({ file: bad });
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ name: 'TributaryError', code: 'CONFIG_INVALID', issues: [{ path: 'runStore.file' }], message: expect.stringContaining(why) });
    }
    expect(readFileSync(text, 'utf8')).toBe('not an SQLite database, '.repeat(100));
    expect(() => redisRunStore({ url: 'not a url' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', issues: [expect.objectContaining({ path: 'runStore.url' })] }));
  });

  it('a stored snapshot cannot reach a prototype', () => {
    const parsed = readRunSnapshot('{"value":"executing-level-1","__proto__":{"polluted":true},"context":{"constructor":{"prototype":{"polluted":true}}}}');
    expect(parsed).toEqual({ value: 'executing-level-1', context: {} });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(readRunSnapshot('not json')).toBeUndefined();
  });

  it('an executor that loses its lease cancels its copy of the run', async () => {
    const source = gatedSource({ a: A_ROWS, b: B_ROWS });
    source.hold('b');
    const e = createExecutor({ sources: { db: source }, runStore: sqliteRunStore({ file }), runLeaseMs: 300 });
    open.push(e);
    const run = e.run(twoFragmentPlan, { runId: 'stolen' });
    await source.running('b');
    // Another executor took the run over (as if this one had stalled past its lease).
    const db = new Database(file);
    db.prepare('UPDATE tributary_runs SET lease_owner = ?, lease_expires_at = ? WHERE run_id = ?').run('someone-else', Date.now() + 60_000, storedRunKey('stolen', undefined));
    db.close();
    await expect(run.result).rejects.toMatchObject({ code: 'RUN_LEASED', message: expect.stringContaining('lost the lease on run "stolen" (its renewal was refused)') });
  });
});

describeRedis('redisRunStore', () => {
  let prefix: string;
  let store: RunStore;
  beforeEach(() => {
    prefix = `${uniqueNamespace()}:runs:`;
    store = redisRunStore({ url: REDIS_URL, prefix, ttlMs: 60_000 });
  });
  afterEach(async () => {
    await store.close();
    const client = inspectClient();
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    client.disconnect();
  });

  it('leases: exactly one of several owners wins; an expired lease can be taken; a finished run is kept for ttlMs', async () => {
    const now = Date.now();
    const run = { runId: 'r', queryId: 'q', principalId: 'alice', state: 'running' as const, createdAt: now, updatedAt: now, fragments: 2, stored: 0, payload: Buffer.from([1, 2, 3]), snapshot: undefined };
    expect(await store.create(run, { owner: 'one', ttlMs: 1000 }, now)).toBe(true);
    expect(await store.create(run, { owner: 'two', ttlMs: 1000 }, now)).toBe(false);
    const contest = await Promise.all(['x', 'y', 'z'].map((owner) => store.lease('r', { owner, ttlMs: 1000 }, now + 2000)));
    expect(contest.filter(Boolean)).toHaveLength(1);
    expect(await store.lease('r', { owner: 'late', ttlMs: 1000 }, now + 2500)).toBe(false);
    const got = await store.get('r', now);
    expect(got).toMatchObject({ runId: 'r', principalId: 'alice', state: 'running', fragments: 2 });
    expect(got?.payload).toEqual(Buffer.from([1, 2, 3]));
    const holder = contest.findIndex(Boolean);
    expect(await store.finish('r', 'done', 60_000, now + 3000, 'late')).toBe(false);
    expect(await store.finish('r', 'done', 60_000, now + 3000, ['x', 'y', 'z'][holder]!)).toBe(true);
    expect(await store.get('r', now + 3000)).toBeUndefined();
    expect(await store.list(now + 3000)).toMatchObject([{ runId: 'r', state: 'done', leaseOwner: undefined }]);
  });

  it('a Redis that stops answering fails the run store\'s commands after timeoutMs: nothing hangs, close() included', async () => {
    const proxy = await freezableProxy();
    try {
      const source = gatedSource({ a: A_ROWS, b: B_ROWS });
      source.hold('b');
      const e = createExecutor({ sources: { db: source }, runStore: redisRunStore({ url: proxy.url, prefix, timeoutMs: 200 }) });
      const run = e.run(twoFragmentPlan, { runId: 'frozen' });
      await source.running('b');
      expect(await eventually(async () => (await e.runs()).some((r) => r.stored === 1))).toBe(true);
      proxy.freeze();
      // A new run cannot be stored: it fails, running nothing.
      await expect(e.run(twoFragmentPlan, { runId: 'never-stored' }).result).rejects.toMatchObject({ code: 'SOURCE_UNAVAILABLE', message: expect.stringContaining('timed out') });
      await expect(e.resume('frozen')).rejects.toMatchObject({ code: 'SOURCE_UNAVAILABLE' });
      expect(source.calls).toEqual({ a: 1, b: 1 });
      // b's rows and the run's end cannot be stored: the result still comes (its rows are right),
      // and close() ends rather than waiting on Redis.
      source.release('b');
      expect((await run.result).status).toBe('ok');
      await e.close();
    } finally {
      await proxy.close();
    }
  });

  it('runs a durable run end to end and leaves nothing behind when it finishes', async () => {
    const e = createExecutor({ sources: { db: gatedSource({ a: A_ROWS, b: B_ROWS }) }, runStore: redisRunStore({ url: REDIS_URL, prefix }) });
    try {
      const result = await e.run(twoFragmentPlan, { runId: 'whole', principal: { id: 'p' } }).result;
      expect(result.status).toBe('ok');
      expect(await e.runs({ anyPrincipal: true })).toEqual([]);
    } finally {
      await e.close();
    }
    const client = inspectClient();
    try {
      expect(await client.keys(`${prefix}*`)).toEqual([]);
    } finally {
      client.disconnect();
    }
  });
});
