import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { TributaryError } from '../../src/errors.js';
import { mysqlSource, type MysqlSource } from '../../src/sources/mysql/connector.js';
import type { ExecuteContext } from '../../src/sources/source.js';
import { describeWithServer, eventually, mysqlAdmin, requireServer, uniqueName, type Admin } from '../support/servers.js';

const server = await requireServer('mysql');

async function rejection(promise: Promise<unknown>): Promise<TributaryError> {
  const error = await promise.then(
    () => expect.fail('expected a rejection'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TributaryError);
  return error as TributaryError;
}

/**
 * Issue 15 item 5 on MariaDB/MySQL: a call's budget (`ctx.budgetMs`) travels in the statement
 * (MariaDB `SET STATEMENT max_statement_time=… FOR …`, MySQL `MAX_EXECUTION_TIME`), so the
 * server stops it by itself. Every call here has a signal that never fires.
 */
describeWithServer(server, 'mysqlSource: the budget as the statement time limit (real MariaDB/MySQL)', () => {
  let admin: Admin;
  let mariadb = false;
  const sources: MysqlSource[] = [];
  const open = (options: Parameters<typeof mysqlSource>[0] = {}): MysqlSource => {
    const source = mysqlSource({ url: server.url, connectionLimit: 1, ...options });
    sources.push(source);
    return source;
  };

  beforeAll(async () => {
    admin = await mysqlAdmin(server.url);
    mariadb = /mariadb/i.test(String((await admin.exec('SELECT VERSION() AS v'))[0]!.v));
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
    Number((await admin.exec(`SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID() AND COMMAND <> 'Sleep'`, [`%${marker}%`]))[0]!.n);

  it('a statement longer than its budget is stopped by the server: TIMEOUT (1969 / 3024), nothing left running', async () => {
    const source = open();
    const marker = uniqueName('budget_my');
    const error = await rejection(source.execute({ sql: `SELECT SLEEP(5) AS s /* ${marker} */` }, ctx(300)));
    expect(error.code).toBe('TIMEOUT');
    expect(error.driverCode).toBe(mariadb ? '1969' : '3024');
    expect(await eventually(async () => (await running(marker)) === 0, 2000)).toBe(true);
    // The connection is fine afterwards, and a call without a budget runs without a limit.
    expect(await source.execute({ sql: 'SELECT SLEEP(0.4) AS s' }, ctx(undefined))).toEqual([{ s: 0 }]);
  });

  it('a streamed statement longer than its budget is stopped by the server: TIMEOUT', async () => {
    const source = open();
    const marker = uniqueName('budget_my_stream');
    const rows = source.execute({ sql: `SELECT SLEEP(5) AS s /* ${marker} */` }, { ...ctx(300), stream: true });
    const read = async (): Promise<void> => {
      // The statement's column names come first, in an empty batch; no row does.
      for await (const batch of rows) if (batch.length > 0) expect.fail('no rows expected');
    };
    expect((await read().then(() => undefined, (e: unknown) => e as TributaryError))?.code).toBe('TIMEOUT');
    expect(await eventually(async () => (await running(marker)) === 0, 2000)).toBe(true);
  });

  it('MariaDB: the statement runs with max_statement_time = its budget in seconds (rounded up), bound values intact', async ({ skip }) => {
    if (!mariadb) skip("MySQL's hint leaves @@max_execution_time as it is");
    const source = open();
    expect(await source.execute({ sql: 'SELECT @@max_statement_time AS t, ? AS p', params: [7] }, { ...ctx(1234), params: ['x'] })).toEqual([{ t: 1.3, p: 'x' }]);
    expect(await source.execute({ sql: 'SELECT @@max_statement_time AS t' }, ctx(undefined))).toEqual([{ t: 0 }]);
  });

  it('statementBudget: false sends no limit: the statement outlives its budget', async () => {
    const source = open({ statementBudget: false });
    expect(await source.execute({ sql: 'SELECT SLEEP(0.4) AS s' }, ctx(100))).toEqual([{ s: 0 }]);
  });
});
