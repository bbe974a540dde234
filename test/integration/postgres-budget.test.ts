import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { TributaryError } from '../../src/errors.js';
import { postgresSource, type PostgresSource } from '../../src/sources/postgres/connector.js';
import type { ExecuteContext } from '../../src/sources/source.js';
import type { Row } from '../../src/data/row.js';
import { describeWithServer, eventually, pgAdmin, requireServer, uniqueName, type Admin } from '../support/servers.js';

const server = await requireServer('postgres');

/** The rejection of `promise` (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<TributaryError> {
  const error = await promise.then(
    () => expect.fail('expected a rejection'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TributaryError);
  return error as TributaryError;
}

/**
 * Every statement text pg clients send while `body` runs: a counting wrapper around the
 * driver's own `Client.prototype.query` (the server is real; nothing is answered for it).
 */
async function sentTexts(body: () => Promise<void>): Promise<string[]> {
  const texts: string[] = [];
  const original = pg.Client.prototype.query;
  const counting = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string } | undefined;
    texts.push(typeof first === 'string' ? first : (first?.text ?? ''));
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  };
  pg.Client.prototype.query = counting as typeof original;
  try {
    await body();
  } finally {
    pg.Client.prototype.query = original;
  }
  return texts;
}

/**
 * Issue 15 item 5 on PostgreSQL: a call's budget (`ctx.budgetMs`) travels to the server as
 * the statement's `statement_timeout`, so the server stops it by itself. Every call here has
 * a signal that never fires: whatever stops a statement is the server.
 */
describeWithServer(server, 'postgresSource: the budget as statement_timeout (real PostgreSQL)', () => {
  let admin: Admin;
  let poolUser: string;
  const sources: PostgresSource[] = [];
  const open = (options: Parameters<typeof postgresSource>[0] = {}): PostgresSource => {
    const source = postgresSource({ url: server.url, max: 1, ...options });
    sources.push(source);
    return source;
  };

  beforeAll(async () => {
    admin = await pgAdmin(server.url);
    poolUser = String((await admin.exec('SELECT current_user AS u'))[0]!.u);
  });
  afterEach(async () => {
    await Promise.all(sources.splice(0).map((s) => s.close()));
  });
  afterAll(() => admin.close());

  const ctx = (budgetMs: number | undefined, extra: Partial<ExecuteContext> = {}): ExecuteContext => ({
    params: [],
    signal: new AbortController().signal,
    ...(budgetMs === undefined ? {} : { budgetMs }),
    ...extra,
  });
  const running = async (marker: string): Promise<number> =>
    Number((await admin.exec(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1 AND state = 'active' AND pid <> pg_backend_pid()`, [`%${marker}%`]))[0]!.n);

  it('a statement longer than its budget is stopped by the server: TIMEOUT (57014), nothing left running', async () => {
    const source = open();
    const marker = uniqueName('budget_pg');
    const error = await rejection(source.execute({ sql: `SELECT pg_sleep(5) /* ${marker} */` }, ctx(300)));
    expect(error.code).toBe('TIMEOUT');
    expect(error.driverCode).toBe('57014');
    expect(error.message).toMatch(/300 ms budget/);
    expect(await eventually(async () => (await running(marker)) === 0, 2000)).toBe(true);
    // The connection is fine afterwards; a call without a budget runs without a limit.
    expect(await source.execute({ sql: 'SHOW statement_timeout' }, ctx(undefined))).toEqual([{ statement_timeout: '0' }]);
  });

  it('a streaming cursor read longer than its budget is stopped by the server: TIMEOUT', async () => {
    const source = open();
    const marker = uniqueName('budget_pg_cursor');
    const rows = source.execute({ sql: `SELECT pg_sleep(5) /* ${marker} */` }, { ...ctx(300), stream: true });
    const read = async (): Promise<void> => {
      // The statement's column names come first, in an empty batch; no row does.
      for await (const batch of rows) if (batch.length > 0) expect.fail('no rows expected');
    };
    const error = await rejection(read());
    expect(error.code).toBe('TIMEOUT');
    expect(await eventually(async () => (await running(marker)) === 0, 2000)).toBe(true);
  });

  it('a pooled connection that already has the limit gets no second SET; a new budget or none changes it once', async () => {
    const source = open();
    const show = (budgetMs: number | undefined) => source.execute({ sql: 'SHOW statement_timeout' }, ctx(budgetMs)) as Promise<Row[]>;
    const seen: Row[][] = [];
    const texts = await sentTexts(async () => {
      seen.push(await show(5000));
      seen.push(await show(4990)); // rounds to the same 5000
      seen.push(await show(5000));
      seen.push(await show(7000));
      seen.push(await show(undefined));
      seen.push(await show(undefined));
    });
    // What the server says the statement ran under: the oracle, independent of the wrapper.
    expect(seen.map((r) => r[0]!.statement_timeout)).toEqual(['5s', '5s', '5s', '7s', '0', '0']);
    const sets = texts.filter((t) => /^(RE)?SET statement_timeout/i.test(t));
    expect(sets).toEqual(['SET statement_timeout = 5000', 'SET statement_timeout = 7000', 'RESET statement_timeout']);
    // The sessions' default limit is read once per pool.
    expect(texts.filter((t) => /pg_settings/.test(t))).toHaveLength(1);
  });

  it("with a role: SET LOCAL statement_timeout in the role's transaction, in the same message, undone at its end", async () => {
    const source = open({ role: () => poolUser });
    const marker = uniqueName('budget_pg_role');
    let error: TributaryError | undefined;
    let after: Row[] = [];
    const texts = await sentTexts(async () => {
      error = await rejection(source.execute({ sql: `SELECT pg_sleep(5) /* ${marker} */` }, ctx(300, { principal: { id: 'alice' } })));
      after = await source.execute({ sql: 'SHOW statement_timeout' }, ctx(undefined, { principal: { id: 'alice' } }));
    });
    expect(error?.code).toBe('TIMEOUT');
    expect(after).toEqual([{ statement_timeout: '0' }]);
    expect(texts).toContain(`SET LOCAL ROLE ${pg.escapeIdentifier(poolUser)}; SET LOCAL statement_timeout = 300`);
    expect(texts.some((t) => /^(RE)?SET statement_timeout/i.test(t))).toBe(false);
    expect(await eventually(async () => (await running(marker)) === 0, 2000)).toBe(true);
  });

  it('a role statement without a budget on a connection a plain call left a budget on runs with the default', async () => {
    const source = open({ role: (p) => (p?.id === 'alice' ? poolUser : undefined) });
    const show = (principal: string, budgetMs: number | undefined) =>
      source.execute({ sql: 'SHOW statement_timeout' }, ctx(budgetMs, { principal: { id: principal } })) as Promise<Row[]>;
    expect(await show('plain', 2000)).toEqual([{ statement_timeout: '2s' }]); // a session SET
    expect(await show('alice', undefined)).toEqual([{ statement_timeout: '0' }]); // SET LOCAL … TO DEFAULT
    expect(await show('alice', 900)).toEqual([{ statement_timeout: '900ms' }]);
    expect(await show('plain', 2000)).toEqual([{ statement_timeout: '2s' }]); // the session's own, untouched
  });

  it("the pool's own statement_timeout wins when stricter (and is not a TIMEOUT); a stricter budget wins over it", async () => {
    const source = open({ statement_timeout: 400 });
    const loose = await rejection(source.execute({ sql: 'SELECT pg_sleep(3)' }, ctx(60_000)));
    expect(loose.driverCode).toBe('57014');
    expect(loose.code).toBe('FRAGMENT_FAILED');
    const strict = await rejection(source.execute({ sql: 'SELECT pg_sleep(3)' }, ctx(150)));
    expect(strict.code).toBe('TIMEOUT');
    expect(await source.execute({ sql: 'SHOW statement_timeout' }, ctx(undefined))).toEqual([{ statement_timeout: '400ms' }]);
  });

  it('statementBudget: false sends no limit: the statement outlives its budget', async () => {
    const source = open({ statementBudget: false });
    const texts = await sentTexts(async () => {
      expect(await source.execute({ sql: 'SELECT pg_sleep(0.4)::text AS slept' }, ctx(100))).toEqual([{ slept: '' }]);
    });
    expect(texts.filter((t) => /statement_timeout/i.test(t))).toEqual([]);
  });
});
