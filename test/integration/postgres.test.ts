import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TributaryError } from '../../src/errors.js';
import { postgresSource, type PostgresSource } from '../../src/sources/postgres/connector.js';
import type { ExecuteContext } from '../../src/sources/source.js';
import type { Row } from '../../src/data/row.js';
import {
  describeWithServer,
  eventually,
  pgAdmin,
  requireServer,
  scratchTables,
  uniqueName,
  type Admin,
} from '../support/servers.js';

const server = await requireServer('postgres');

/** The rejection of `promise` (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

describeWithServer(server, 'postgresSource (real PostgreSQL)', () => {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let source: PostgresSource;
  let items: string;

  beforeAll(async () => {
    admin = await pgAdmin(server.url);
    tables = scratchTables(admin);
    items = tables.name('items');
    await admin.exec(`CREATE TABLE ${items} (id int PRIMARY KEY, name text NOT NULL)`);
    await admin.exec(`INSERT INTO ${items} SELECT g, 'item ' || g FROM generate_series(1, 2000) g`);
    source = postgresSource({ url: server.url, max: 4, name: 'shop' });
  });

  afterAll(async () => {
    await source.close();
    await tables.dropAll();
  });

  const ctx = (params: unknown[] = [], extra: Partial<ExecuteContext> = {}): ExecuteContext => ({
    params,
    signal: new AbortController().signal,
    ...extra,
  });
  const run = (sql: string, params: unknown[] = [], extra: Partial<ExecuteContext> = {}): Promise<Row[]> =>
    source.execute({ sql }, ctx(params, extra));
  it('passes injection strings as data: they come back verbatim and nothing is dropped', async () => {
    const attacks = ["'); DROP TABLE " + items + '; --', "' OR 1=1 --", "\\'; DROP TABLE x; --", 'a"b{c},d\\', 'NULL'];
    for (const attack of attacks) {
      expect(await run('SELECT $1::text AS v', [attack])).toEqual([{ v: attack }]);
      expect(await run(`SELECT id FROM ${items} WHERE name = $1`, [attack])).toEqual([]);
    }
    // Inside a bound list too: pg writes the array literal, quoting every element.
    expect(await run('SELECT unnest($1::text[]) AS v', [attacks])).toEqual(attacks.map((v) => ({ v })));
    expect(await run(`SELECT id FROM ${items} WHERE name = ANY($1)`, [attacks])).toEqual([]);
    expect(await run(`SELECT count(*)::int AS n FROM ${items}`)).toEqual([{ n: 2000 }]);
  });

  it('runs exactly one statement: a second one in the text is rejected', async () => {
    const error = await rejection(run(`SELECT 1; DROP TABLE ${items}`));
    expect(error).toMatchObject({ code: 'FRAGMENT_FAILED', retryable: false });
    expect(await run(`SELECT count(*)::int AS n FROM ${items}`)).toEqual([{ n: 2000 }]);
  });

  it('classifies a real deadlock as retryable, keeping SQLSTATE 40P01', async () => {
    const other = await pgAdmin(server.url);
    // Small keys: pg_locks then shows them in objid (classid 0).
    const [k1, k2] = [1 + Math.floor(Math.random() * 1e9), 1 + Math.floor(Math.random() * 1e9)];
    try {
      // The other side checks for deadlocks only after 30 s (deadlock_timeout is per session;
      // the test user is a superuser), so the source's check runs first on a loaded machine too,
      // and the source is the side the server aborts.
      await other.exec("SET deadlock_timeout = '30s'");
      await other.exec('BEGIN');
      await other.exec('SELECT pg_advisory_xact_lock($1)', [k1]);
      // The source takes k2, then waits for k1.
      const victim = rejection(run('SELECT pg_advisory_xact_lock($1)::text AS a, pg_advisory_xact_lock($2)::text AS b', [k2, k1]));
      const waiting = async () =>
        (await admin.exec(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = $1`, [k1])).length > 0;
      expect(await eventually(waiting)).toBe(true);
      const otherDone = other.exec('SELECT pg_advisory_xact_lock($1)', [k2]);
      const error = await victim;
      expect(error).toBeInstanceOf(TributaryError);
      expect(error).toMatchObject({ code: 'FRAGMENT_FAILED', driverCode: '40P01', retryable: true });
      expect((error as TributaryError).cause).toBeInstanceOf(pg.DatabaseError);
      expect(source.isRetryable(error)).toBe(true);
      await otherDone;
    } finally {
      await other.exec('ROLLBACK').catch(() => undefined);
      await other.close();
    }
  });

  it('classifies a syntax error and an unknown table as not retryable, keeping the SQLSTATE', async () => {
    const syntax = await rejection(run('SELEC 1', [], { fragmentId: 'broken' }));
    expect(syntax).toMatchObject({ code: 'FRAGMENT_FAILED', driverCode: '42601', retryable: false });
    // The driver's words, labelled; the pipeline adds the fragment and source prefix once.
    expect((syntax as Error).message).toMatch(/^PostgreSQL error 42601: syntax error/);
    expect(syntax).toMatchObject({ issues: [{ path: 'fragments.broken' }] });
    expect(source.isRetryable(syntax)).toBe(false);
    const unknown = await rejection(run(`SELECT * FROM ${uniqueName('missing')}`));
    expect(unknown).toMatchObject({ code: 'FRAGMENT_FAILED', driverCode: '42P01', retryable: false });
    expect(source.isRetryable(unknown)).toBe(false);
  });

  it('classifies parameters that do not match the statement (SQLSTATE 08P01) as the query\'s mistake: not retried, not unavailable', async () => {
    // 08 is the connection-exception class, but 08P01 is the bind message pg sent for the
    // statement: the same call fails the same way, and the connection is fine.
    for (const [sql, params] of [
      ['SELECT $1::int AS a', []],
      ['SELECT 1 AS a', [5]],
    ] as const) {
      const error = await rejection(run(sql, [...params]));
      expect(error).toMatchObject({ code: 'FRAGMENT_FAILED', driverCode: '08P01', retryable: false });
      expect((error as Error).message).toMatch(/^PostgreSQL error 08P01: bind message supplies/);
      expect(source.isRetryable(error)).toBe(false);
    }
    expect(await run('SELECT 2 AS b')).toEqual([{ b: 2 }]);
  });

  it('validates its options with CONFIG_INVALID issues', () => {
    const attempt = () => postgresSource({ url: server.url, max: 0, bogus: true } as never);
    expect(attempt).toThrow(TributaryError);
    try {
      attempt();
    } catch (error) {
      expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
      const paths = (error as TributaryError).issues.map((i) => i.path);
      expect(paths).toContain('options.max');
      expect(paths).toContain('options.bogus');
    }
  });

  it('reports its server version and declares its lane from the pool size', async () => {
    expect(await source.version()).toMatch(/^postgres:\d+/);
    expect(source.kind).toBe('postgres');
    expect(source.maxConcurrency).toBe(4);
    expect(postgresSource({ url: server.url, maxConcurrency: 2 }).maxConcurrency).toBe(2);
  });

});
