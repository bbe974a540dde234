import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, postgresSource, type Executor, type Principal, type SourceExecutor } from '../../src/index.js';
import { describeWithServer, pgAdmin, requireServer, scratchTables, type Admin } from '../support/servers.js';

const pg = await requireServer('postgres');

/*
 * An object that says how it serializes (its own `toJSON`) is one value to the shape checks
 * of a plan, a run parameter and a principal's claims: they do not look inside it, so what it
 * holds may be large, shared or cyclic (a session object pointing back at its owner). The
 * run's own copy of plan, params and claims must take it the same way — kept whole, bound as
 * its driver binds it (pg: its JSON text) — not walk into it: a cycle there made the copy loop
 * until the process ran out of memory.
 */
describeWithServer(pg, 'toJSON values', () => {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let table: string;
  let executor: Executor;
  const seen: (Principal | undefined)[] = [];
  beforeAll(async () => {
    admin = await pgAdmin(pg.url);
    tables = scratchTables(admin);
    table = tables.name('tojson');
    await admin.exec(`CREATE TABLE ${table} (k int PRIMARY KEY, v text NOT NULL)`);
    await admin.exec(`INSERT INTO ${table} SELECT g, 'v' || g FROM generate_series(1, 5) AS g`);
    const db = postgresSource({ url: pg.url });
    // The postgres source as is, but each call's principal kept to compare.
    const watched: SourceExecutor = { ...db, execute: (query, ctx) => (seen.push(ctx.principal), db.execute(query, ctx)) };
    executor = createExecutor({ sources: { db: watched }, cache: false });
  });
  afterAll(async () => {
    await executor?.close();
    await tables?.dropAll();
  });

  /** `{ toJSON() → n }` holding a reference to itself, and a list that holds it twice. */
  function cyclic(n: number): Record<string, unknown> {
    const value: Record<string, unknown> = { toJSON: () => n, note: 'serializes as a number' };
    value.self = value;
    value.pair = [value, value];
    return value;
  }

  const oracle = async (k: number): Promise<unknown[]> => admin.exec(`SELECT k, v FROM ${table} WHERE k = $1 ORDER BY k`, [k]);

  it('a run parameter binds as its JSON, equal to the statement run with that value', async () => {
    const plan = { fragments: [{ id: 'f', source: 'db', query: { sql: `SELECT k, v FROM ${table} WHERE k = $1::int ORDER BY k`, params: [{ $param: 'k' }] } }] };
    const result = await executor.execute(plan, { params: { k: cyclic(3) } });
    expect(result.rows).toEqual(await oracle(3));
    expect(result.rows).toHaveLength(1);
  });

  it('a value inside the plan binds as its JSON too', async () => {
    const plan = { fragments: [{ id: 'f', source: 'db', query: { sql: `SELECT k, v FROM ${table} WHERE k = $1::int ORDER BY k`, params: [cyclic(4)] } }] };
    const result = await executor.execute(plan);
    expect(result.rows).toEqual(await oracle(4));
  });

  it('a principal whose claims hold one runs, and its source sees the claims as given', async () => {
    seen.length = 0;
    const session = cyclic(7);
    const principal = { id: 'alice', roles: ['hr'], session };
    const plan = { fragments: [{ id: 'f', source: 'db', query: { sql: `SELECT k, v FROM ${table} WHERE k = $1 ORDER BY k`, params: [2] } }] };
    const result = await executor.execute(plan, { principal });
    expect(result.rows).toEqual(await oracle(2));
    expect(seen).toHaveLength(1);
    // Kept whole: the same object (it is one value), while the role list is the run's own copy.
    expect(seen[0]?.session).toBe(session);
    expect(seen[0]?.roles).toEqual(['hr']);
    expect(seen[0]?.roles).not.toBe(principal.roles);
  });

  it('a principal that has its own toJSON is still the run\'s own copy at its top level', async () => {
    seen.length = 0;
    const principal: Principal = { id: 'alice', roles: ['hr'], toJSON: () => ({ id: 'alice' }) };
    const plan = { fragments: [{ id: 'f', source: 'db', query: { sql: `SELECT k, v FROM ${table} WHERE k = $1 ORDER BY k`, params: [5] } }] };
    const run = executor.run(plan, { principal });
    // The caller reuses its object for the next request before this run's source is called.
    principal.id = 'mallory';
    principal.roles = [];
    expect((await run.result).rows).toEqual(await oracle(5));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ id: 'alice', roles: ['hr'] });
  });
});
