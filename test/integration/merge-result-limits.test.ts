import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, type Executor } from '../../src/executor.js';
import { TributaryError } from '../../src/errors.js';
import { postgresSource, type PostgresSource } from '../../src/sources/postgres/connector.js';
import type { Row } from '../../src/data/row.js';
import { describeWithServer, pgAdmin, requireServer, scratchTables, type Admin } from '../support/servers.js';

const server = await requireServer('postgres');

/**
 * The merge's own bounds (`maxResultRows` / `maxResultBytes`) on real PostgreSQL: two
 * fragments joined on a constant column make their product, far past what either fragment's
 * bounds allow, and the merge step fails LIMIT_EXCEEDED at its path as it makes the row past
 * the bound — eager or streamed — with the fragments' reports kept.
 */
describeWithServer(server, 'merge result bounds (real PostgreSQL)', () => {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let source: PostgresSource;
  let a: string;
  let b: string;
  let wide: string;
  const executors: Executor[] = [];
  const executor = (rowLimits?: Record<string, number | null>): Executor => {
    const e = createExecutor({ sources: { shop: source }, cache: false, ...(rowLimits === undefined ? {} : { rowLimits }) });
    executors.push(e);
    return e;
  };

  beforeAll(async () => {
    admin = await pgAdmin(server.url);
    tables = scratchTables(admin);
    a = tables.name('a');
    b = tables.name('b');
    wide = tables.name('wide');
    // 1,000 × 1,000 on the constant k: a product of a million rows; on id: 1,000 matches.
    await admin.exec(`CREATE TABLE ${a} (id int PRIMARY KEY, k int NOT NULL, amount numeric(20, 6) NOT NULL)`);
    await admin.exec(`INSERT INTO ${a} SELECT g, 1, g * 1.000001 + 0.1 FROM generate_series(1, 1000) g`);
    await admin.exec(`CREATE TABLE ${b} (id int PRIMARY KEY, k int NOT NULL, price numeric(30, 10) NOT NULL)`);
    await admin.exec(`INSERT INTO ${b} SELECT g, 1, 12345678901234567890.0123456789 - g FROM generate_series(1, 1000) g`);
    // 200 rows of 4,000 characters: each fragment ~1.6 MB estimated, their product on k ~650 MB.
    await admin.exec(`CREATE TABLE ${wide} (id int PRIMARY KEY, k int NOT NULL, body text NOT NULL)`);
    await admin.exec(`INSERT INTO ${wide} SELECT g, 1, repeat('x', 4000) FROM generate_series(1, 200) g`);
    source = postgresSource({ url: server.url, max: 4 });
  });

  afterAll(async () => {
    for (const e of executors) await e.close();
    await source.close();
    await tables.dropAll();
  });

  const constantJoin = (limits?: Record<string, number>) => ({
    id: 'product',
    fragments: [
      { id: 'a', source: 'shop', query: { sql: `SELECT id, k, amount FROM ${a}`, params: [] } },
      { id: 'b', source: 'shop', query: { sql: `SELECT id, k, price FROM ${b}`, params: [] } },
    ],
    merge: { op: 'join', type: 'inner', left: 'a', right: 'b', on: [['k', 'k']] },
    ...(limits === undefined ? {} : { limits }),
  });

  const limitIssue = (error: unknown): { path: string; message: string } => {
    expect(error).toBeInstanceOf(TributaryError);
    expect((error as TributaryError).code).toBe('LIMIT_EXCEEDED');
    return (error as TributaryError).issues[0]!;
  };

  it('fails a join whose product passes maxResultRows at the join, keeping both fragments reports (eager)', async () => {
    const result = await executor({ maxResultRows: 50_000 }).execute(constantJoin());
    expect(result.status).toBe('failed');
    expect(result.rows).toEqual([]);
    expect(result.errors).toHaveLength(1);
    const issue = limitIssue(result.errors[0]);
    expect(issue.path).toBe('merge');
    expect(issue.message).toContain('maxResultRows=50000');
    expect(result.fragments.a).toMatchObject({ status: 'succeeded', rowCount: 1000 });
    expect(result.fragments.b).toMatchObject({ status: 'succeeded', rowCount: 1000 });
  });

  it('stops a streamed join at the bound: the reader saw no more than maxResultRows rows', async () => {
    const run = executor({ maxResultRows: 50_000 }).run(constantJoin());
    let seen = 0;
    let thrown: unknown;
    try {
      for await (const batch of run.rows(1000)) seen += batch.length;
    } catch (error) {
      thrown = error;
    }
    expect(limitIssue(thrown).path).toBe('merge');
    // A million rows would have come out of an unbounded join; the bound stopped it first.
    expect(seen).toBeLessThanOrEqual(50_000);
    const result = await run.result;
    expect(result.status).toBe('failed');
    expect(result.fragments.a).toMatchObject({ status: 'succeeded', rowCount: 1000 });
    expect(result.fragments.b).toMatchObject({ status: 'succeeded', rowCount: 1000 });
  });

  it('bounds a join side that a streamed run materializes, at its path', async () => {
    const fragments = [...constantJoin().fragments, { id: 'c', source: 'shop', query: { sql: `SELECT id AS cid FROM ${a} WHERE id <= 3`, params: [] } }];
    const plan = { id: 'right-side', fragments, merge: { op: 'join', type: 'inner', left: 'c', right: constantJoin().merge, on: [['cid', 'id']] } };
    const run = executor({ maxResultRows: 50_000 }).run(plan);
    let thrown: unknown;
    try {
      for await (const batch of run.rows()) expect(batch).toBeDefined();
    } catch (error) {
      thrown = error;
    }
    expect(limitIssue(thrown).path).toBe('merge.right');
    expect((await run.result).fragments.b).toMatchObject({ status: 'succeeded', rowCount: 1000 });
    const eager = await executor({ maxResultRows: 50_000 }).execute(plan);
    expect(limitIssue(eager.errors[0]).path).toBe('merge.right');
  });

  it('reports the step that passed the bound by its path, under a sort', async () => {
    const plan = { ...constantJoin({ maxResultRows: 5000 }), merge: { op: 'sort', by: [{ column: 'id' }], input: constantJoin().merge } };
    const result = await executor().execute(plan);
    expect(result.status).toBe('failed');
    const issue = limitIssue(result.errors[0]);
    expect(issue.path).toBe('merge.input');
    expect(issue.message).toContain('maxResultRows=5000');
  });

  it('a join under the bounds equals the one-statement oracle exactly (decimals too), eager and streamed', async () => {
    const plan = {
      id: 'keyed',
      fragments: [
        { id: 'a', source: 'shop', query: { sql: `SELECT id, k, amount FROM ${a}`, params: [] } },
        { id: 'b', source: 'shop', query: { sql: `SELECT id, k, price FROM ${b}`, params: [] } },
      ],
      merge: { op: 'join', type: 'inner', left: 'a', right: 'b', on: [['id', 'id']] },
      limits: { maxResultRows: 1000 },
    };
    const oracle = await source.execute(
      { sql: `SELECT a.id, a.k, a.amount, b.id AS "b.id", b.k AS "b.k", b.price FROM ${a} a JOIN ${b} b ON a.id = b.id ORDER BY a.id`, params: [] },
      { params: [], signal: new AbortController().signal },
    );
    const rowsOf = (rows: Row[]): Row[] => rows.map((r) => ({ ...r })).sort((x, y) => (x.id as number) - (y.id as number));
    const eager = await executor({ maxResultRows: 1000 }).execute(plan);
    expect(eager.status).toBe('ok');
    expect(rowsOf(eager.rows)).toEqual(rowsOf(oracle as Row[]));
    const run = executor({ maxResultRows: 1000 }).run(plan);
    const streamed: Row[] = [];
    for await (const batch of run.rows()) streamed.push(...batch);
    expect((await run.result).status).toBe('ok');
    expect(rowsOf(streamed)).toEqual(rowsOf(oracle as Row[]));
  });

  it('a plan tightens the executor bound, and cannot lift it', async () => {
    const keyedOnK = (limits?: Record<string, number>) => ({ ...constantJoin(limits), fragments: constantJoin().fragments.map((f) => ({ ...f, query: { ...f.query, sql: `${f.query.sql} WHERE id <= 30` } })) });
    // 30 × 30 = 900 rows.
    expect((await executor({ maxResultRows: 1000 }).execute(keyedOnK())).status).toBe('ok');
    const tightened = await executor({ maxResultRows: 1000 }).execute(keyedOnK({ maxResultRows: 899 }));
    expect(limitIssue(tightened.errors[0]).message).toContain('maxResultRows=899');
    const lifted = await executor({ maxResultRows: 500 }).execute(keyedOnK({ maxResultRows: 1_000_000 }));
    expect(limitIssue(lifted.errors[0]).message).toContain('maxResultRows=500');
  });

  const wideJoin = () => ({
    id: 'wide',
    fragments: [
      { id: 'l', source: 'shop', query: { sql: `SELECT id, k, body FROM ${wide}`, params: [] } },
      { id: 'r', source: 'shop', query: { sql: `SELECT id, k, body FROM ${wide}`, params: [] } },
    ],
    merge: { op: 'join', type: 'inner', left: 'l', right: 'r', on: [['k', 'k']] },
  });

  it('bounds the merge to 256 MiB (estimated) by default, eager and streamed; the executor lifts it with Infinity or null', async () => {
    const result = await executor().execute(wideJoin());
    expect(result.status).toBe('failed');
    expect(limitIssue(result.errors[0]).message).toContain('maxResultBytes=268435456');
    expect(result.fragments.l).toMatchObject({ status: 'succeeded', rowCount: 200 });

    const run = executor().run(wideJoin());
    let seen = 0;
    let thrown: unknown;
    try {
      for await (const batch of run.rows()) seen += batch.length;
    } catch (error) {
      thrown = error;
    }
    expect(limitIssue(thrown).message).toContain('maxResultBytes=268435456');
    // ~16 KB a row estimated: the bound stops the product at about 16,500 of its 40,000 rows.
    expect(seen).toBeLessThan(20_000);

    for (const lift of [Infinity, null]) {
      const lifted = await executor({ maxResultBytes: lift }).execute(wideJoin());
      expect(lifted.status).toBe('ok');
      expect(lifted.rows).toHaveLength(40_000);
    }
    // A plan's own byte bound tightens it.
    const planned = await executor({ maxResultBytes: null }).execute({ ...wideJoin(), limits: { maxResultBytes: 1_000_000 } });
    expect(limitIssue(planned.errors[0]).message).toContain('maxResultBytes=1000000');
  });

  it('refuses bad bounds: CONFIG_INVALID on the executor, PLAN_INVALID in a plan, at their paths', async () => {
    for (const [key, value] of [['maxResultRows', 0], ['maxResultBytes', -1], ['maxResultRows', 1.5], ['maxResultBytes', '1000']] as const) {
      let thrown: unknown;
      try {
        createExecutor({ sources: { shop: source }, rowLimits: { [key]: value } as never });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(TributaryError);
      expect((thrown as TributaryError).code).toBe('CONFIG_INVALID');
      expect((thrown as TributaryError).issues.map((i) => i.path)).toContain(`rowLimits.${key}`);
    }
    const e = executor();
    for (const value of [0, -5, 2.5, null]) {
      let thrown: unknown;
      try {
        await e.execute({ ...constantJoin(), limits: { maxResultRows: value } });
      } catch (error) {
        thrown = error;
      }
      expect((thrown as TributaryError).code).toBe('PLAN_INVALID');
      expect((thrown as TributaryError).issues.map((i) => i.path)).toContain('limits.maxResultRows');
    }
    // While positive integers (and Infinity / null on the executor) are taken.
    expect(() => executor({ maxResultRows: 10, maxResultBytes: null })).not.toThrow();
    const taken = await e.execute({ ...constantJoin(), merge: { op: 'limit', n: 10, input: 'a' }, limits: { maxResultRows: 10, maxResultBytes: 10_000 } });
    expect(taken.errors).toEqual([]);
    expect(taken.rows).toHaveLength(10);
  });
});
