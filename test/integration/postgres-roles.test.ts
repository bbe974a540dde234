import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, type Executor } from '../../src/executor.js';
import { TributaryError } from '../../src/errors.js';
import { postgresSource, type PostgresSource } from '../../src/sources/postgres/connector.js';
import type { ExecuteContext, Principal } from '../../src/sources/source.js';
import type { Row } from '../../src/data/row.js';
import { describeWithServer, dropPgRoles, eventually, pgAdmin, requireServer, scratchTables, uniqueName, type Admin } from '../support/servers.js';

const server = await requireServer('postgres');

/**
 * Each principal queried as its own PostgreSQL role (issue 19): real roles, a table with
 * row-level security and a policy on current_user, one executor (cache on) for everyone.
 */
describeWithServer(server, 'postgresSource({ role }) with row-level security (real PostgreSQL)', () => {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let notes: string;
  let poolUser: string;
  const roleA = uniqueName('trib_role_a');
  const roleB = uniqueName('trib_role_b');
  const missing = uniqueName('trib_role_missing');
  const roles: Record<string, string> = { alice: roleA, bob: roleB, ghost: missing };
  let source: PostgresSource;
  let executor: Executor;
  const calls: (string | undefined)[] = [];

  beforeAll(async () => {
    admin = await pgAdmin(server.url);
    tables = scratchTables(admin);
    notes = tables.name('notes');
    poolUser = String((await admin.exec('SELECT current_user AS u'))[0]!.u);
    for (const role of [roleA, roleB]) await admin.exec(`CREATE ROLE "${role}" NOLOGIN`);
    await admin.exec(`CREATE TABLE ${notes} (id int PRIMARY KEY, owner name NOT NULL, item text NOT NULL)`);
    await admin.exec(`INSERT INTO ${notes} VALUES (1, $1, 'a1'), (2, $1, 'a2'), (101, $1, 'a101'), (3, $2, 'b3'), (102, $2, 'b102')`, [roleA, roleB]);
    await admin.exec(`ALTER TABLE ${notes} ENABLE ROW LEVEL SECURITY`);
    await admin.exec(`ALTER TABLE ${notes} FORCE ROW LEVEL SECURITY`);
    await admin.exec(`CREATE POLICY own_rows ON ${notes} USING (owner = current_user)`);
    await admin.exec(`GRANT SELECT ON ${notes} TO "${roleA}", "${roleB}"`);
    // Two connections, so the two fragments of a plan run at once, each on its own.
    const inner = postgresSource({ url: server.url, max: 2, role: (p) => (p === undefined ? undefined : roles[p.id]) });
    source = { ...inner, execute: (q: Parameters<PostgresSource['execute']>[0], ctx: ExecuteContext) => (calls.push(ctx.principal?.id), inner.execute(q, ctx)) } as PostgresSource;
    executor = createExecutor({
      sources: { db: source },
      authorize: (principal) => principal?.id !== 'mallory' || 'mallory may not read notes',
      retry: { attempts: 3, initialDelayMs: 1 },
    });
  });

  afterAll(async () => {
    await executor?.close();
    await tables?.dropAll();
    await dropPgRoles(server.url, [roleA, roleB]);
  });

  // Two fragments on the same table, run at once (both pooled connections), unioned.
  const plan = () => ({
    id: 'my-notes',
    fragments: [
      { id: 'low', source: 'db', query: { sql: `SELECT id, item FROM ${notes} CROSS JOIN pg_sleep(0.05) WHERE id <= 100` } },
      { id: 'high', source: 'db', query: { sql: `SELECT id, item FROM ${notes} CROSS JOIN pg_sleep(0.05) WHERE id > 100` } },
    ],
    merge: { op: 'sort', by: [{ column: 'id' }], input: { op: 'union', inputs: ['low', 'high'] } },
  });

  /** One statement over the same table as the pool's own user: the oracle of what a role sees. */
  const oracle = async (role: string): Promise<Row[]> =>
    (await admin.exec(`SELECT id, item FROM ${notes} WHERE owner = $1 ORDER BY id`, [role])) as Row[];

  /** Every pooled connection, taken at once: who it is now (user and role setting). */
  async function pooledConnections(): Promise<Row[]> {
    const sql = "SELECT current_user::text AS u, current_setting('role') AS r, pg_backend_pid() AS pid FROM pg_sleep(0.2)";
    const check = {
      id: 'who-am-i',
      fragments: [
        { id: 'c1', source: 'db', query: { sql }, cache: { ttlMs: 0 } },
        { id: 'c2', source: 'db', query: { sql: `${sql} WHERE true` }, cache: { ttlMs: 0 } },
      ],
      merge: { op: 'union', inputs: ['c1', 'c2'] },
    };
    const result = await executor.execute(check);
    expect(result.status).toBe('ok');
    return result.rows;
  }

  it('two principals mapped to two roles each see only their own rows, also on the second, cached run', async () => {
    const alice: Principal = { id: 'alice' };
    const bob: Principal = { id: 'bob' };
    const expected = { alice: await oracle(roleA), bob: await oracle(roleB) };
    expect(expected.alice.map((r) => r.id)).toEqual([1, 2, 101]);
    expect(expected.bob.map((r) => r.id)).toEqual([3, 102]);
    for (const round of [1, 2]) {
      const [a, b] = await Promise.all([executor.execute(plan(), { principal: alice }), executor.execute(plan(), { principal: bob })]);
      expect(a.status).toBe('ok');
      expect(a.rows).toEqual(expected.alice);
      expect(b.rows).toEqual(expected.bob);
      // The second round comes from the cache, still per principal.
      expect(Object.values(a.fragments).map((f) => f.cached)).toEqual([round === 2, round === 2]);
      expect(Object.values(b.fragments).map((f) => f.cached)).toEqual([round === 2, round === 2]);
    }
    // Without a role (the pool's superuser), the same plan sees every row: RLS did the work.
    expect((await executor.execute(plan())).rows).toHaveLength(5);
  });

  it('streams through a cursor inside the role transaction', async () => {
    const run = executor.run({ id: 'stream', fragments: [{ id: 'all', source: 'db', query: { sql: `SELECT id, item FROM ${notes} ORDER BY id` }, cache: { ttlMs: 0 } }] }, { principal: { id: 'bob' } });
    const seen: Row[] = [];
    for await (const batch of run.rows(1)) seen.push(...batch);
    expect(seen).toEqual(await oracle(roleB));
    // Stopped after the first batch: the cursor is abandoned mid-transaction (checked below).
    const early = executor.run({ id: 'early', fragments: [{ id: 'all', source: 'db', query: { sql: `SELECT id FROM ${notes} ORDER BY id` }, cache: { ttlMs: 0 } }] }, { principal: { id: 'alice' } });
    for await (const batch of early.rows(1)) {
      expect(batch).toEqual([{ id: 1 }]);
      break;
    }
    await early.result.catch(() => undefined);
  });

  it('a principal mapped to a missing role gets a failed fragment (not retried) and no rows', async () => {
    const result = await executor.execute(plan(), { principal: { id: 'ghost' } });
    expect(result.status).toBe('failed');
    expect(result.rows).toEqual([]);
    const error = result.errors[0]!;
    expect(error).toBeInstanceOf(TributaryError);
    expect(error.code).toBe('FRAGMENT_FAILED');
    expect(error.message).toContain(`cannot run as role "${missing}"`);
    expect(error.message).toContain('does not exist');
    expect(result.errors.every((e) => e.retryable === false)).toBe(true);
    expect(Math.max(...Object.values(result.fragments).map((f) => f.attempts))).toBe(1);
  });

  it('cancelling a statement inside the role transaction stops it', async () => {
    const marker = uniqueName('sleep_marker');
    const sql = `SELECT pg_sleep(5) AS s, '${marker}' AS m`;
    const run = executor.run({ id: 'slow', fragments: [{ id: 'sleep', source: 'db', query: { sql }, cache: { ttlMs: 0 } }] }, { principal: { id: 'alice' } });
    const running = async () =>
      Number((await admin.exec("SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1", [`%${marker}%`]))[0]!.n);
    // The statement is on the server, as alice's role, before we cancel it…
    expect(await eventually(async () => (await running()) > 0)).toBe(true);
    run.cancel('too slow');
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    // …and gone from it after, not left sleeping inside the role's transaction.
    expect(await eventually(async () => (await running()) === 0)).toBe(true);
  });

  it('authorize refuses a principal before the source is called; an allowed one runs the same plan', async () => {
    const before = calls.length;
    let thrown: unknown;
    try {
      executor.run(plan(), { principal: { id: 'mallory' } });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'FORBIDDEN', issues: [{ path: 'fragments[0]' }, { path: 'fragments[1]' }] });
    expect(calls.length).toBe(before);
    const allowed = await executor.execute({ ...plan(), id: 'fresh' }, { principal: { id: 'alice' } });
    expect(allowed.rows).toEqual(await oracle(roleA));
  });

  it('every pooled connection is back to the pool\'s own user afterwards', async () => {
    const rows = await pooledConnections();
    expect(new Set(rows.map((r) => r.pid)).size).toBe(2);
    for (const row of rows) expect(row).toMatchObject({ u: poolUser, r: 'none' });
  });
});
