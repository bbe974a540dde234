import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { serialize } from 'node:v8';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createExecutor, redisRunStore, sqliteRunStore, storedRunKey, type RunStore } from '../../src/index.js';
import { decodeFragment } from '../../src/durable/codec.js';
import { describeRedis, dropKeys, inspectClient, REDIS_URL, uniqueNamespace } from '../support/redis.js';
import { eventually } from '../support/servers.js';
import { A_ROWS, B_ROWS, gatedSource, twoFragmentPlan } from './fixtures/sources.js';

/**
 * A stored fragment's rows are gunzipped on `resume`. With no `rowLimits.maxBytes` nothing
 * bounded that: a few KB planted in the store could expand to gigabytes. The store's
 * `maxFragmentBytes` (default 1 GiB) bounds it; the tests lower it to keep the bombs small.
 */
const MiB = 2 ** 20;
/** Three rows of 3 MiB each (what fragment "a" should hold: 3 rows), ~27 KB gzipped. */
const bomb = (): Buffer => gzipSync(serialize([{ s: 'x'.repeat(3 * MiB) }, { s: 'y' }, { s: 'z' }]));

describe('decodeFragment', () => {
  it('refuses rows that gunzip past the store bound when the run has no maxBytes', () => {
    const stored = { fragmentId: 'a', rowCount: 3, chunks: [bomb()], columns: undefined };
    expect(stored.chunks[0]!.length).toBeLessThan(64 * 1024);
    expect(() => decodeFragment('r', stored, {}, MiB)).toThrow(expect.objectContaining({
      code: 'SOURCE_BAD_RESPONSE',
      message: expect.stringContaining('the rows of fragment "a" gunzip to more than 1048576 bytes'),
      issues: [expect.objectContaining({ path: 'runs.r' })],
    }));
    // Under the default bound (1 GiB) the same rows are read whole.
    expect(decodeFragment('r', stored, {})).toHaveLength(3);
    expect(decodeFragment('r', stored, {}, 16 * MiB)).toHaveLength(3);
  });

  it('rejects a bad maxFragmentBytes as CONFIG_INVALID', () => {
    expect(() => sqliteRunStore({ file: ':memory:', maxFragmentBytes: 0 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => redisRunStore({ maxFragmentBytes: 1.5 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

/** Starts a run, stores fragment "a", interrupts it before "b"; the store is closed after. */
async function interruptedRun(runStore: RunStore, runId: string): Promise<void> {
  const source = gatedSource({ a: A_ROWS, b: B_ROWS });
  source.hold('b');
  const e = createExecutor({ sources: { db: source }, runStore });
  const run = e.run(twoFragmentPlan, { runId });
  await source.running('b');
  expect(await eventually(async () => (await e.runs()).some((r) => r.stored === 1))).toBe(true);
  await e.close();
  await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
}

async function expectRefused(runStore: RunStore, runId: string): Promise<void> {
  const source = gatedSource({ a: A_ROWS, b: B_ROWS });
  const e = createExecutor({ sources: { db: source }, runStore });
  try {
    await expect(e.resume(runId)).rejects.toMatchObject({
      code: 'SOURCE_BAD_RESPONSE',
      message: expect.stringContaining(`stored run "${runId}" is damaged: the rows of fragment "a" gunzip to more than 1048576 bytes`),
      issues: [{ path: `runs.${runId}` }],
    });
    expect(source.calls).toEqual({});
    // The lease it took was given back: the run is still there to look at.
    expect(await e.runs()).toMatchObject([{ runId, state: 'interrupted', leaseOwner: undefined }]);
  } finally {
    await e.close();
  }
}

describe('sqliteRunStore({ maxFragmentBytes })', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-bomb-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails resume with SOURCE_BAD_RESPONSE on a planted gzip bomb instead of inflating it', async () => {
    const file = join(dir, 'runs.db');
    await interruptedRun(sqliteRunStore({ file }), 'bombed');
    const db = new Database(file);
    db.prepare("UPDATE tributary_run_fragments SET data = ? WHERE run_id = ? AND fragment_id = 'a'").run(bomb(), storedRunKey('bombed', undefined));
    db.close();
    await expectRefused(sqliteRunStore({ file, maxFragmentBytes: MiB }), 'bombed');
  });

  it('refuses a stored fragment larger than its bound before reading it (sized by length(), never read)', async () => {
    const file = join(dir, 'runs.db');
    await interruptedRun(sqliteRunStore({ file }), 'huge');
    const db = new Database(file);
    // 3 MiB of incompressible bytes as the fragment's data: past 1 MiB before any gunzip.
    db.prepare("UPDATE tributary_run_fragments SET data = ? WHERE run_id = ? AND fragment_id = 'a'").run(randomBytes(3 * MiB), storedRunKey('huge', undefined));
    db.close();
    const source = gatedSource({ a: A_ROWS, b: B_ROWS });
    const e = createExecutor({ sources: { db: source }, runStore: sqliteRunStore({ file, maxFragmentBytes: MiB }) });
    try {
      await expect(e.resume('huge')).rejects.toMatchObject({
        code: 'SOURCE_BAD_RESPONSE',
        message: expect.stringMatching(/stored run "huge" is damaged: fragment "a" is stored in 3145728 bytes, more than the \d+ its rows may take \(it was not read\)/),
        issues: [{ path: 'runs.huge' }],
      });
      expect(source.calls).toEqual({});
      expect(await e.runs()).toMatchObject([{ runId: 'huge', state: 'interrupted', leaseOwner: undefined }]);
    } finally {
      await e.close();
    }
  });
});

describeRedis('redisRunStore({ maxFragmentBytes })', () => {
  const prefix = `${uniqueNamespace()}:runs:`;
  afterEach(() => dropKeys(prefix));

  it('fails resume with SOURCE_BAD_RESPONSE on a planted gzip bomb instead of inflating it', async () => {
    await interruptedRun(redisRunStore({ url: REDIS_URL, prefix }), 'bombed');
    const client = inspectClient();
    try {
      const fragKey = `${prefix}frag:${storedRunKey('bombed', undefined)}`;
      const meta = JSON.parse((await client.hget(fragKey, 'm:a')) ?? '{}') as Record<string, unknown>;
      await client.hset(fragKey, 'm:a', JSON.stringify({ ...meta, chunks: 1 }), 'c:0:a', bomb());
    } finally {
      client.disconnect();
    }
    await expectRefused(redisRunStore({ url: REDIS_URL, prefix, maxFragmentBytes: MiB }), 'bombed');
  });

  it('refuses a stored fragment larger than its bound before reading it (sized by HSTRLEN, never sent)', async () => {
    await interruptedRun(redisRunStore({ url: REDIS_URL, prefix }), 'huge');
    const client = inspectClient();
    const fragKey = `${prefix}frag:${storedRunKey('huge', undefined)}`;
    try {
      // 3 MiB of incompressible bytes as the fragment's one chunk: past 1 MiB before any gunzip.
      const meta = JSON.parse((await client.hget(fragKey, 'm:a')) ?? '{}') as Record<string, unknown>;
      await client.hset(fragKey, 'm:a', JSON.stringify({ ...meta, chunks: 1 }), 'c:0:a', randomBytes(3 * MiB));
    } finally {
      client.disconnect();
    }
    const source = gatedSource({ a: A_ROWS, b: B_ROWS });
    const e = createExecutor({ sources: { db: source }, runStore: redisRunStore({ url: REDIS_URL, prefix, maxFragmentBytes: MiB }) });
    try {
      await expect(e.resume('huge')).rejects.toMatchObject({
        code: 'SOURCE_BAD_RESPONSE',
        message: expect.stringMatching(/stored run "huge" is damaged: fragment "a" is stored in \d+ bytes, more than the \d+ its rows may take \(it was not read\)/),
        issues: [{ path: 'runs.huge' }],
      });
      expect(source.calls).toEqual({});
      expect(await e.runs()).toMatchObject([{ runId: 'huge', state: 'interrupted', leaseOwner: undefined }]);
    } finally {
      await e.close();
    }
  });

  it('still resumes a run whose stored fragments fit the bound', async () => {
    await interruptedRun(redisRunStore({ url: REDIS_URL, prefix }), 'fits');
    const source = gatedSource({ a: A_ROWS, b: B_ROWS });
    const e = createExecutor({ sources: { db: source }, runStore: redisRunStore({ url: REDIS_URL, prefix, maxFragmentBytes: MiB }) });
    try {
      const run = await e.resume('fits');
      expect((await run.result).status).toBe('ok');
      expect(source.calls).toEqual({ b: 1 });
    } finally {
      await e.close();
    }
  });
});
