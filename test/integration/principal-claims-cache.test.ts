import { afterAll, beforeAll, expect, it } from 'vitest';
import { cacheKey, cacheScopeOf, createExecutor, postgresSource, type Executor, type Row } from '../../src/index.js';
import { describeWithServer, dropPgRoles, pgAdmin, requireServer, scratchTables, uniqueName, type Admin } from '../support/servers.js';

const server = await requireServer('postgres');

/**
 * A source answers by what the principal's claims say, not only by its id: `role` maps a
 * claim to a PostgreSQL role, a headers function forwards a token. Two principals of the same
 * id and different claims (a user switching tenants, a token with fewer rights) must not be
 * served each other's cached rows, nor share a load in flight.
 */
describeWithServer(server, 'the cache between principals of one id and different claims (real PostgreSQL, row-level security)', () => {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let notes: string;
  const roleA = uniqueName('trib_claim_a');
  const roleB = uniqueName('trib_claim_b');
  let executor: Executor;

  beforeAll(async () => {
    admin = await pgAdmin(server.url);
    tables = scratchTables(admin);
    notes = tables.name('claim_notes');
    for (const role of [roleA, roleB]) await admin.exec(`CREATE ROLE "${role}" NOLOGIN`);
    await admin.exec(`CREATE TABLE ${notes} (id int PRIMARY KEY, owner name NOT NULL)`);
    await admin.exec(`INSERT INTO ${notes} VALUES (1, $1), (2, $1), (3, $2)`, [roleA, roleB]);
    await admin.exec(`ALTER TABLE ${notes} ENABLE ROW LEVEL SECURITY`);
    await admin.exec(`ALTER TABLE ${notes} FORCE ROW LEVEL SECURITY`);
    await admin.exec(`CREATE POLICY own_rows ON ${notes} USING (owner = current_user)`);
    await admin.exec(`GRANT SELECT ON ${notes} TO "${roleA}", "${roleB}"`);
    const tenants: Record<string, string> = { a: roleA, b: roleB };
    executor = createExecutor({ sources: { db: postgresSource({ url: server.url, max: 2, role: (p) => tenants[String(p?.tenant)] }) } });
  });

  afterAll(async () => {
    await executor?.close();
    await tables?.dropAll();
    await dropPgRoles(server.url, [roleA, roleB]);
  });

  const plan = () => ({ id: 'claims', fragments: [{ id: 'f', source: 'db', query: { sql: `SELECT id FROM ${notes} CROSS JOIN pg_sleep(0.05) ORDER BY id` } }] });
  const oracle = async (role: string): Promise<Row[]> => (await admin.exec(`SELECT id FROM ${notes} WHERE owner = $1 ORDER BY id`, [role])) as Row[];

  it('serves each claim set its own rows, one after the other and at once; the same claims share', async () => {
    const [a, b] = [await oracle(roleA), await oracle(roleB)];
    expect(a).toHaveLength(2);
    expect(b).toHaveLength(1);
    const first = await executor.execute(plan(), { principal: { id: 'ann', tenant: 'a' } });
    expect(first.rows).toEqual(a);
    const second = await executor.execute(plan(), { principal: { id: 'ann', tenant: 'b' } });
    expect(second.rows).toEqual(b);
    expect(second.fragments.f!.cached).toBe(false);
    // The same id and claims: a hit.
    const again = await executor.execute(plan(), { principal: { tenant: 'a', id: 'ann' } });
    expect(again.rows).toEqual(a);
    expect(again.fragments.f!.cached).toBe(true);
    // Both at once (an in-flight load is not shared either).
    await executor.cache.invalidate({});
    const [x, y] = await Promise.all([executor.execute(plan(), { principal: { id: 'ann', tenant: 'b' } }), executor.execute(plan(), { principal: { id: 'ann', tenant: 'a' } })]);
    expect([x.rows, y.rows]).toEqual([b, a]);
  });

  it('keys an entry by the whole principal through cacheKey/cacheScopeOf, so invalidate({ key }) finds it', async () => {
    const principal = { id: 'ann', tenant: 'b' };
    await executor.execute(plan(), { principal });
    const source = postgresSource({ url: server.url, role: () => undefined });
    const key = cacheKey({ source: 'db', version: await source.version!(), scope: cacheScopeOf('principal', principal)!, calls: [{ query: plan().fragments[0]!.query, params: [] }] });
    await source.close?.();
    expect(cacheScopeOf('principal', principal)).not.toBe(cacheScopeOf('principal', 'ann'));
    expect(cacheScopeOf('principal', { id: 'ann' })).toBe(cacheScopeOf('principal', 'ann'));
    expect((await executor.cache.invalidate({ key: key! })).local).toBe(1);
  });
});
