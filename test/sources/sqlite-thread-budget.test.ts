import { afterEach, describe, expect, it } from 'vitest';
import { TributaryError } from '../../src/errors.js';
import { sqliteSource } from '../../src/sources/sqlite/connector.js';
import type { ExecuteContext, SourceExecutor } from '../../src/sources/source.js';
import type { Row } from '../../src/data/row.js';

/**
 * One long step: no row comes back until the count is done (about a second). Bounded on
 * purpose: a terminated thread only stops once SQLite hands control back to JavaScript
 * (better-sqlite3 has no sqlite3_interrupt), so a truly endless step would burn a core.
 */
const LONG_STEP = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000000) SELECT count(*) AS n FROM c';
/** Rows one after the other, forever in practice. */
const RUNAWAY_ROWS = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500000000) SELECT x FROM c';

const sources: SourceExecutor[] = [];
afterEach(async () => {
  for (const s of sources.splice(0)) await s.close?.();
});
const threaded = (options: { statementBudget?: boolean } = {}) => {
  const source = sqliteSource({ file: ':memory:', thread: true, ...options });
  sources.push(source);
  return source;
};
/** A signal that never fires: only the budget can stop the call. */
const ctx = (budgetMs?: number): ExecuteContext => ({ params: [], signal: new AbortController().signal, ...(budgetMs === undefined ? {} : { budgetMs }) });
const failure = async (promise: Promise<unknown>): Promise<TributaryError> => {
  const error = await promise.then(
    () => expect.fail('expected a rejection'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TributaryError);
  return error as TributaryError;
};

/** Issue 15 item 5 on SQLite: a call on a thread is terminated when its budget runs out. */
describe('sqliteSource({ thread: true }): the budget terminates the thread', () => {
  it('the thread stops a row-producing statement by itself even while the main thread is blocked', async () => {
    const source = threaded();
    const pending = (source.execute({ sql: RUNAWAY_ROWS }, ctx(300)) as Promise<Row[]>).then(
      () => 'resolved',
      (e: unknown) => e,
    );
    // The call is handed to the thread once the main thread gets a turn.
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Block (asleep, not spinning) the main thread well past the budget: its timer cannot fire,
    // the thread's own check can. The process's CPU time in the meantime is the thread's: a
    // thread that did not stop would burn the whole 1.5 s.
    const cpu = process.cpuUsage();
    const until = Date.now() + 1500;
    while (Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    const used = process.cpuUsage(cpu);
    expect((used.user + used.system) / 1000).toBeLessThan(1000);
    const error = await pending;
    expect(error).toBeInstanceOf(TributaryError);
    expect((error as TributaryError).code).toBe('TIMEOUT');
  });

  it('a statement in one long step fails at its budget: TIMEOUT, and the next call works on a fresh thread', async () => {
    const source = threaded();
    const error = await failure(source.execute({ sql: LONG_STEP }, ctx(100)) as Promise<Row[]>);
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toMatch(/100 ms budget; its thread was terminated/);
    expect(await (source.execute({ sql: 'SELECT 41 + 1 AS answer' }, ctx(5000)) as Promise<Row[]>)).toEqual([{ answer: 42 }]);
  });

  it('a call that waited its whole budget for the thread fails with TIMEOUT without running', async () => {
    const source = threaded();
    const first = source.execute({ sql: LONG_STEP }, ctx(300)) as Promise<Row[]>;
    const second = source.execute({ sql: 'SELECT 1 AS one' }, ctx(100)) as Promise<Row[]>;
    expect((await failure(first)).code).toBe('TIMEOUT');
    const error = await failure(second);
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).not.toMatch(/terminated/);
  });

  it('statementBudget: false: the budget alone stops nothing', async () => {
    const source = threaded({ statementBudget: false });
    const count = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT count(*) AS n FROM c';
    expect(await (source.execute({ sql: count }, ctx(1)) as Promise<Row[]>)).toEqual([{ n: 300000 }]);
  });
});
