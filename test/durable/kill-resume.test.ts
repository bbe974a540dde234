import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createExecutor, httpSource, redisRunStore, sqliteRunStore, storedRunKey, type Executor, type RunStore } from '../../src/index.js';
import { reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';
import { describeRedis, inspectClient, REDIS_URL, uniqueNamespace } from '../support/redis.js';
import { eventually } from '../support/servers.js';
import { startChild, type Child } from './fixtures/child.js';
import { HTTP_A, HTTP_B, httpPlan } from './fixtures/http-plan.js';

const alice = { id: 'alice' };
/**
 * The children's lease: long, so that a resume right after the kill proves the dead holder's
 * lease is taken over (the holder's process is gone from this machine), not waited out.
 */
const LEASE_MS = 60_000;

interface Setup {
  /** The child's environment for this store. */
  env: Record<string, string>;
  /** A fresh handle on the same store. */
  store(): RunStore;
}

/**
 * The acceptance scenario: a child process runs the plan with a run id; once `a` is stored and
 * `b` is running (the server holds it), the child is SIGKILLed; this process then resumes the
 * run and gets the rows of an uninterrupted run, with `a` called once in all.
 */
function killAndResume(setup: () => Setup): void {
  let server: TestHttpServer;
  /** Lets every request of `b`, held until now or still to come, be answered. */
  let openB: () => void;
  const children: Child[] = [];
  const executors: Executor[] = [];

  beforeEach(async () => {
    const gate = new Promise<void>((resolve) => (openB = resolve));
    server = await startHttpServer({ 'GET /a': reply.json(HTTP_A), 'GET /b': (req, res) => gate.then(() => reply.json(HTTP_B)(req, res)) });
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.kill()));
    await Promise.all(executors.splice(0).map((e) => e.close()));
    await server.close();
  });

  const executorOn = (store: RunStore): Executor => {
    const e = createExecutor({ sources: { api: httpSource({ baseUrl: server.url }) }, cache: false, retry: { attempts: 1 }, runStore: store, runLeaseMs: LEASE_MS });
    executors.push(e);
    return e;
  };

  /** Starts the child and kills it once `a` is stored and `b` is running. */
  async function killedMidRun(s: Setup, runId: string): Promise<void> {
    const child = startChild({ ...s.env, BASE_URL: server.url, RUN_ID: runId, LEASE_MS: String(LEASE_MS) });
    children.push(child);
    await child.waitFor(/^started$/);
    const probe = s.store();
    try {
      const ready = await eventually(async () => server.hits('GET /b') === 1 && (await probe.list(Date.now())).some((r) => r.runId === storedRunKey(runId, alice.id) && r.stored === 1), 30_000, 50);
      expect(ready, `the child stored a and started b (it printed: ${child.lines.join(' | ')})`).toBe(true);
    } finally {
      await probe.close();
    }
    await child.kill();
    expect(server.hits('GET /a')).toBe(1);
  }

  it('a run killed with SIGKILL after fragment a is resumed by another process: same rows, a called once', async () => {
    const s = setup();
    await killedMidRun(s, 'killed-1');
    openB();
    const executor = executorOn(s.store());
    // At once: the lease (60 s) of the killed process is not waited out.
    const run = await executor.resume('killed-1', { principal: alice });
    const result = await run.result;

    expect(server.hits('GET /a')).toBe(1);
    expect(server.hits('GET /b')).toBe(2);
    expect(result.status).toBe('ok');
    const reference = createExecutor({ sources: { api: httpSource({ baseUrl: server.url }) }, cache: false });
    try {
      const uninterrupted = await reference.execute(httpPlan);
      expect(result.rows).toEqual(uninterrupted.rows);
      expect(result.columns).toEqual(uninterrupted.columns);
    } finally {
      await reference.close();
    }
    expect(result.rows).toHaveLength(3);
    expect(await executor.runs({ anyPrincipal: true })).toEqual([]);
  }, 90_000);

  it('two processes resuming the same run: one wins, the other is refused with RUN_LEASED', async () => {
    const s = setup();
    await killedMidRun(s, 'killed-2');
    // Both start at once: each finds the dead holder's lease and tries to take it over; b is
    // still held by the server, so the winner lives on while the loser is refused.
    const env = { ...s.env, BASE_URL: server.url, RUN_ID: 'killed-2', MODE: 'resume', LEASE_MS: String(LEASE_MS) };
    const x = startChild(env);
    const y = startChild(env);
    children.push(x, y);
    const [lx, ly] = await Promise.all([x.waitFor(/^(started|error .*)$/, 60_000), y.waitFor(/^(started|error .*)$/, 60_000)]);
    expect([lx, ly].sort()).toEqual(['error RUN_LEASED', 'started']);
    const winner = lx === 'started' ? x : y;
    openB();
    const rows = await winner.waitFor(/^rows /, 60_000);
    expect(JSON.parse(rows.slice(5))).toHaveLength(3);
    expect(server.hits('GET /a')).toBe(1);
  }, 120_000);
}

describe('durable runs across processes: SQLite run store', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-kill-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  killAndResume(() => {
    const file = join(dir, 'runs.db');
    return { env: { STORE_KIND: 'sqlite', STORE_FILE: file }, store: () => sqliteRunStore({ file }) };
  });
});

describeRedis('durable runs across processes: Redis run store', () => {
  let prefix: string;
  beforeEach(() => {
    prefix = `${uniqueNamespace()}:runs:`;
  });
  afterEach(async () => {
    const client = inspectClient();
    try {
      const left = await client.keys(`${prefix}*`);
      // A finished run leaves nothing behind.
      expect(left).toEqual([]);
    } finally {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length > 0) await client.del(...keys);
      client.disconnect();
    }
  });
  killAndResume(() => ({ env: { STORE_KIND: 'redis', REDIS_URL, PREFIX: prefix }, store: () => redisRunStore({ url: REDIS_URL, prefix }) }));
});
