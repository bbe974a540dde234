import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, createWorker, postgresSource, redisStore, type ExecutionEvent, type Executor, type Principal, type RemoteWorker, type Row } from '../../src/index.js';
import { dropKeys, REDIS_URL, redisUnavailableReason } from '../support/redis.js';
import { describeWithServer, pgAdmin, requireServer, scratchTables, uniqueName, type Admin } from '../support/servers.js';

const server = await requireServer('postgres');
const redisDown = await redisUnavailableReason();
if (redisDown !== undefined && process.env.CI === 'true') throw new Error(`Redis at ${REDIS_URL} is unreachable under CI: ${redisDown}`);

/*
 * Two principals through one coordinator whose calls run on a BullMQ worker, with the Redis
 * cache on: each call reaches the worker's postgresSource as its own principal (a role per
 * principal under row-level security), identical fragments of the two running at once are
 * two jobs (never shared in flight), a second coordinator on the same Redis serves each
 * principal only its own entry, and rows whose columns are named `__proto__` or
 * `constructor` cross the worker, Redis and the merge as own columns. The oracle is one
 * statement per role on the server.
 */
describeWithServer(redisDown === undefined ? server : { skipReason: `Redis at ${REDIS_URL} is unreachable (${redisDown})` }, 'remote workers, principals and the Redis cache (real PostgreSQL and Redis)', () => {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let notes: string;
  const roleA = uniqueName('trib_remote_a');
  const roleB = uniqueName('trib_remote_b');
  const roles: Record<string, string> = { alice: roleA, bob: roleB };
  const role = (p: Principal | undefined): string | undefined => (p === undefined ? undefined : roles[p.id]);
  const queue = `tributary-test-${randomUUID()}`;
  const namespace = `test-${randomUUID()}`;
  let worker: RemoteWorker;
  const workerCalls: (string | undefined)[] = [];
  const coordinators: Executor[] = [];

  beforeAll(async () => {
    admin = await pgAdmin(server.url);
    tables = scratchTables(admin);
    notes = tables.name('notes');
    for (const r of [roleA, roleB]) await admin.exec(`CREATE ROLE "${r}" NOLOGIN`);
    await admin.exec(`CREATE TABLE ${notes} (id int PRIMARY KEY, owner name NOT NULL, "__proto__" text, "constructor" text)`);
    await admin.exec(`INSERT INTO ${notes} VALUES (1, $1, 'a-proto', 'a-ctor'), (2, $1, '{"polluted":true}', NULL), (3, $2, 'b-proto', 'b-ctor')`, [roleA, roleB]);
    await admin.exec(`ALTER TABLE ${notes} ENABLE ROW LEVEL SECURITY`);
    await admin.exec(`ALTER TABLE ${notes} FORCE ROW LEVEL SECURITY`);
    await admin.exec(`CREATE POLICY own_rows ON ${notes} USING (owner = current_user)`);
    await admin.exec(`GRANT SELECT ON ${notes} TO "${roleA}", "${roleB}"`);
    const inner = postgresSource({ url: server.url, role });
    worker = createWorker({
      sources: { db: { ...inner, execute: (q: Parameters<typeof inner.execute>[0], ctx: Parameters<typeof inner.execute>[1]) => (workerCalls.push(ctx.principal?.id), inner.execute(q, ctx)) } },
      connection: REDIS_URL,
      queue,
    });
  });

  afterAll(async () => {
    for (const c of coordinators) await c.close();
    await worker?.close();
    const q = new Queue(queue, { connection: { url: REDIS_URL } });
    await q.obliterate({ force: true });
    await q.close();
    await dropKeys(`tributary:${namespace}:`);
    await tables?.dropAll();
    const cleanup = await pgAdmin(server.url);
    for (const r of [roleA, roleB]) await cleanup.exec(`DROP ROLE IF EXISTS "${r}"`);
    await cleanup.close();
  });

  const coordinator = (): Executor => {
    const executor = createExecutor({
      sources: { db: postgresSource({ url: server.url, role }) },
      remote: { connection: REDIS_URL, queue },
      cache: { store: redisStore({ url: REDIS_URL, namespace, timeoutMs: 1000 }) },
      retry: { attempts: 1 },
    });
    coordinators.push(executor);
    return executor;
  };

  const plan = () => ({
    id: 'my-notes',
    fragments: [{ id: 'mine', source: 'db', query: { sql: `SELECT id, "__proto__", "constructor" FROM ${notes} CROSS JOIN pg_sleep(0.05) ORDER BY id` } }],
    merge: { op: 'project', input: { op: 'filter', input: 'mine', where: { not: { isNull: '__proto__' } } }, columns: ['id', '__proto__', 'constructor'] },
  });

  /** What the role sees, as one statement on the server. */
  const oracle = async (r: string): Promise<Row[]> =>
    (await admin.exec(`SELECT id, "__proto__", "constructor" FROM ${notes} WHERE owner = $1 AND "__proto__" IS NOT NULL ORDER BY id`, [r])) as Row[];

  const ownColumns = (rows: readonly Row[]): void => {
    for (const row of rows) {
      expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
      expect(Object.keys(row)).toEqual(['id', '__proto__', 'constructor']);
      expect(typeof Object.getOwnPropertyDescriptor(row, '__proto__')?.value).toBe('string');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  };

  it('runs each principal\'s identical fragment as its own job, as its own role, and caches it in its own scope', async () => {
    const first = coordinator();
    const events: Record<string, ExecutionEvent[]> = { alice: [], bob: [] };
    const runs = (['alice', 'bob'] as const).map((id) => {
      const run = first.run(plan(), { principal: { id, team: `team-${id}` } });
      run.events$.subscribe((e) => events[id]!.push(e));
      return run.result;
    });
    const [alice, bob] = await Promise.all(runs);
    expect(alice!.rows).toEqual(await oracle(roleA));
    expect(bob!.rows).toEqual(await oracle(roleB));
    expect(alice!.rows.map((r) => r.id)).toEqual([1, 2]);
    ownColumns([...alice!.rows, ...bob!.rows]);
    // Two jobs, one per principal, on the worker: no sharing in flight across principals.
    for (const id of ['alice', 'bob']) expect(events[id]!.filter((e) => e.type === 'fragment.remote')).toHaveLength(1);
    expect([...workerCalls].sort()).toEqual(['alice', 'bob']);
    expect(alice!.fragments.mine!.cached).toBe(false);
    expect(bob!.fragments.mine!.cached).toBe(false);
  });

  it('serves each principal only its own entry from Redis on another coordinator; an unknown principal misses', async () => {
    const second = coordinator();
    const before = workerCalls.length;
    // The same principals, claims and all (another claim set is another scope).
    await expect.poll(async () => (await second.execute(plan(), { principal: { id: 'alice', team: 'team-alice' } })).fragments.mine!.cached, { timeout: 5000, interval: 20 }).toBe(true);
    const alice = await second.execute(plan(), { principal: { id: 'alice', team: 'team-alice' } });
    const bob = await second.execute(plan(), { principal: { id: 'bob', team: 'team-bob' } });
    expect(alice.rows).toEqual(await oracle(roleA));
    expect(bob.rows).toEqual(await oracle(roleB));
    expect(bob.fragments.mine!.cached).toBe(true);
    ownColumns([...alice.rows, ...bob.rows]);
    // carol has no role: her call runs as the pool's own user (a superuser here, past RLS) —
    // what matters is that it is a call of hers, not alice's or bob's entry.
    const carol = await second.execute(plan(), { principal: { id: 'carol' } });
    expect(carol.fragments.mine!.cached).toBe(false);
    expect(workerCalls.slice(before).filter((id) => id !== 'alice')).toEqual(['carol']);
  });
});
