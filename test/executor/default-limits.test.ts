import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, postgresSource, sqliteSource, type Executor, type ExecutorOptions, type SourceExecutor } from '../../src/index.js';
import { DEFAULT_FRAGMENT_MAX_BYTES } from '../../src/data/limits.js';
import { describeWithServer, eventually, pgAdmin, pgUrl, requireServer, type Admin } from '../support/servers.js';

/**
 * Every fragment has a byte bound by default: 64 MiB of estimated row bytes, over all its
 * batches, unless its source or the executor sets another (`Infinity` / `null` lifts it).
 * A plan's `limits` only tighten it.
 */
const MiB = 2 ** 20;
// 400 rows of 100,000 characters: ~80 MB by the estimate (2 bytes a character), past 64 MiB.
const wide = Array.from({ length: 400 }, (_, i) => ({ id: i % 4, s: 'x'.repeat(100_000) }));
const ids = [0, 1, 2, 3].map((id) => ({ id }));
const whole = { fragments: [{ id: 'big', source: 'mem', query: { table: 'wide' } }], merge: 'big' };
// Four batches of ~20 MB each: every call under the default, the fragment over it.
const batched = {
  fragments: [
    { id: 'ids', source: 'mem', query: { table: 'ids' } },
    { id: 'big', source: 'mem', dependsOn: ['ids'], batch: { param: 0, size: 1 }, query: { table: 'wide', where: { in: ['id', { $from: 'ids', column: 'id' }] } } },
  ],
  merge: 'big',
};

describe('the default byte bound of a fragment', () => {
  const executors: Executor[] = [];
  const make = (source: SourceExecutor, options: Partial<ExecutorOptions> = {}): Executor => {
    const e = createExecutor({ sources: { mem: source }, cache: false, retry: { attempts: 1 }, ...options });
    executors.push(e);
    return e;
  };
  afterEach(async () => {
    for (const e of executors.splice(0)) await e.close();
  });

  const refused = (bound: number) => [expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'big', message: expect.stringContaining(`maxBytes=${bound}`) })];

  it('is 64 MiB: a fragment past it fails LIMIT_EXCEEDED at fragments.<id>, a whole fragment and a batched one alike', async () => {
    const e = make(memorySource({ tables: { wide, ids } }));
    for (const plan of [whole, batched]) {
      const result = await e.execute(plan);
      expect(result.status).toBe('failed');
      expect(result.errors).toEqual(refused(DEFAULT_FRAGMENT_MAX_BYTES));
      expect(result.errors[0]!.issues).toEqual([expect.objectContaining({ path: 'fragments.big' })]);
    }
  });

  it("is replaced by the executor's rowLimits.maxBytes, lifted by Infinity or null there", async () => {
    for (const maxBytes of [256 * MiB, Infinity, null]) {
      const e = make(memorySource({ tables: { wide, ids } }), { rowLimits: { maxBytes } });
      expect((await e.execute(whole)).rows).toHaveLength(400);
      expect((await e.execute(batched)).rows).toHaveLength(400);
    }
    // A lower one bounds every fragment, as before.
    expect((await make(memorySource({ tables: { wide, ids } }), { rowLimits: { maxBytes: MiB } }).execute(whole)).errors).toEqual(refused(MiB));
  });

  it("is replaced by the source's own maxBytes (Infinity or null lifts it); the executor's and the plan's limits still tighten it", async () => {
    for (const maxBytes of [256 * MiB, Infinity, null]) {
      const e = make(memorySource({ tables: { wide, ids }, maxBytes }));
      expect((await e.execute(whole)).rows).toHaveLength(400);
      expect((await e.execute(batched)).rows).toHaveLength(400);
      expect((await e.execute({ ...whole, limits: { maxBytes: MiB } })).errors).toEqual(refused(MiB));
    }
    const capped = make(memorySource({ tables: { wide, ids }, maxBytes: null }), { rowLimits: { maxBytes: 2 * MiB } });
    expect((await capped.execute(whole)).errors).toEqual(refused(2 * MiB));
    // A source's bound counts over a batched fragment's batches too.
    expect((await make(memorySource({ tables: { wide, ids }, maxBytes: 30 * MiB })).execute(batched)).errors).toEqual(refused(30 * MiB));
  });

  it('cannot be lifted by a plan', async () => {
    const e = make(memorySource({ tables: { wide, ids } }));
    expect((await e.execute({ ...whole, limits: { maxBytes: 1024 * MiB } })).errors).toEqual(refused(DEFAULT_FRAGMENT_MAX_BYTES));
  });

  it('refuses a bound that is no positive integer, Infinity or null with CONFIG_INVALID naming it', () => {
    for (const bad of [0, -1, 1.5, -Infinity, Number.NaN, '1']) {
      expect(() => createExecutor({ rowLimits: { maxBytes: bad as number } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', issues: [expect.objectContaining({ path: 'rowLimits.maxBytes' })] }));
      expect(() => memorySource({ tables: {}, maxBytes: bad as number })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', issues: [expect.objectContaining({ path: 'options.maxBytes' })] }));
      expect(() => sqliteSource({ file: ':memory:', maxRows: bad as number })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', issues: [expect.objectContaining({ path: 'options.maxRows' })] }));
    }
  });
});

describe('the default byte bound on a SQLite worker thread', () => {
  it('stops the statement on the thread at 64 MiB, naming the fragment, rather than send the whole result', async () => {
    const e = createExecutor({ sources: { db: sqliteSource({ file: ':memory:', thread: true }) }, cache: false, retry: { attempts: 1 }, timeoutMs: 25_000 });
    try {
      // A billion rows of ~2 KB: a thread that read on past the bound would not finish in time.
      const sql = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000000000) SELECT n, printf('%.1000c', 'x') AS s FROM c";
      const result = await e.execute({ fragments: [{ id: 'big', source: 'db', query: { sql, params: [] } }], merge: 'big' });
      expect(result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'big', message: expect.stringContaining(`maxBytes=${DEFAULT_FRAGMENT_MAX_BYTES}`) })]);
      expect(result.errors[0]!.issues).toEqual([expect.objectContaining({ path: 'fragments.big' })]);
    } finally {
      await e.close();
    }
  });
});

const pg = await requireServer('postgres');

describeWithServer(pg, 'the default byte bound on PostgreSQL, through the executor', () => {
  let admin: Admin;
  beforeAll(async () => {
    admin = await pgAdmin();
  });
  afterAll(() => admin.close());

  it('stops a huge statement at 64 MiB (LIMIT_EXCEEDED naming the fragment) and on the server; maxBytes: null on the source lifts it', async () => {
    const tag = `default_bound_${process.pid}_${Date.now()}`;
    const huge = { fragments: [{ id: 'big', source: 'pg', query: { sql: `SELECT generate_series(1, 1000000000) AS n, repeat('x', 1000) AS s /* ${tag} */`, params: [] } }], merge: 'big' };
    const e = createExecutor({ sources: { pg: postgresSource({ url: pgUrl(), max: 2 }) }, cache: false, retry: { attempts: 1 } });
    try {
      const result = await e.execute(huge);
      expect(result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'big', message: expect.stringContaining(`maxBytes=${DEFAULT_FRAGMENT_MAX_BYTES}`) })]);
      const open = async () => (await admin.exec(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1 AND state <> 'idle' AND pid <> pg_backend_pid()`, [`%${tag}%`]))[0]!.n;
      expect(await eventually(async () => (await open()) === 0, 3000)).toBe(true);
    } finally {
      await e.close();
    }
    // 40,000 rows of ~2 KB (~83 MB by the estimate): past the default, whole once the source lifts it.
    const lifted = createExecutor({ sources: { pg: postgresSource({ url: pgUrl(), max: 2, maxBytes: null }) }, cache: false, retry: { attempts: 1 } });
    try {
      const result = await lifted.execute({ fragments: [{ id: 'big', source: 'pg', query: { sql: "SELECT n, repeat('x', 1000) AS s FROM generate_series(1, 40000) AS n", params: [] } }], merge: 'big' });
      expect(result.status).toBe('ok');
      expect(result.rows).toHaveLength(40_000);
    } finally {
      await lifted.close();
    }
  });
});
