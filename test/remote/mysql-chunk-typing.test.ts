import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, createRemoteLane, createWorker, from, mysqlSource, postgresSource, remoteSource, type Executor, type Plan, type RemoteLane, type RemoteWorker } from '../../src/index.js';
import { describeRedis, dropKeys, REDIS_URL } from '../support/redis.js';
import { mysqlAdmin, mysqlUrl, pgUrl, requireServer, scratchTables, type Admin } from '../support/servers.js';

/**
 * A chunk of a batched bound list goes to a MariaDB source typed as its whole list
 * (mysql/exact-params.ts) on a remote worker too: the job says how its whole list goes, as
 * the link from chunk to list does not cross Redis. Checked against the one-statement
 * literal list, and against the same plan run in this process.
 */

const pgCheck = await requireServer('postgres');
const myCheck = await requireServer('mysql');
if (process.env.CI === 'true' && (pgCheck.skipReason ?? myCheck.skipReason)) throw new Error(`needs PostgreSQL and MariaDB: ${pgCheck.skipReason ?? myCheck.skipReason}`);

describeRedis('a batched chunk typed by its whole list on a remote MariaDB worker', () => {
  const queue = `tributary-test-${randomUUID()}`;
  let my: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let codes: string;
  let worker: RemoteWorker;
  let lane: RemoteLane;
  let remote: Executor;
  let local: Executor;

  beforeAll(async () => {
    my = await mysqlAdmin();
    tables = scratchTables(my);
    codes = tables.name('codes');
    await my.exec(`CREATE TABLE ${codes} (code VARCHAR(30))`);
    // Compared with a number, '09007199254740993' matches 9007199254740993; as text it does not.
    await my.exec(`INSERT INTO ${codes} VALUES ('7'), ('007'), ('9007199254740993'), ('09007199254740993'), ('123456789012345678.5'), ('123456789012345678.50')`);
    worker = createWorker({ sources: { my: mysqlSource({ url: mysqlUrl() }) }, connection: REDIS_URL, queue, concurrency: 2 });
    await worker.ready();
    lane = createRemoteLane({ connection: REDIS_URL, queue });
    remote = createExecutor({ sources: { pg: postgresSource({ url: pgUrl() }), my: remoteSource('my', mysqlSource({ url: mysqlUrl() }), lane) }, cache: false });
    local = createExecutor({ sources: { pg: postgresSource({ url: pgUrl() }), my: mysqlSource({ url: mysqlUrl() }) }, cache: false });
  });

  afterAll(async () => {
    await remote?.close();
    await local?.close();
    await lane?.close();
    await worker?.close();
    const q = new Queue(queue, { connection: { url: REDIS_URL } });
    await q.obliterate({ force: true });
    await q.close();
    await dropKeys(`tributary:${queue}:`);
    await tables?.dropAll();
  });

  const plan = (upstream: string, list: readonly string[], size: number): Plan => ({
    fragments: [
      { id: 'up', source: 'pg', query: { sql: `SELECT unnest($1::text[])${upstream} AS k`, params: [list] } },
      { id: 'dn', source: 'my', dependsOn: ['up'], batch: { param: 0, size }, query: { sql: `SELECT code FROM ${codes} WHERE code IN (?)`, params: [from('up', 'k')] } },
    ],
    merge: { op: 'sort', by: [{ column: 'code' }], input: 'dn' },
  });
  const codesOf = async (executor: Executor, p: Plan): Promise<unknown[]> => {
    const result = await executor.execute(p);
    expect(result.errors.map((e) => e.message)).toEqual([]);
    return result.rows.map((r) => r.code);
  };
  const oracle = async (literals: string): Promise<unknown[]> => (await my.exec(`SELECT code FROM ${codes} WHERE code IN (${literals}) ORDER BY code`)).map((r) => r.code);

  it('sends a chunk of decimal strings only, cut from a list holding a number, as numbers', { timeout: 30_000 }, async () => {
    // A BIGINT $from: 7 a number, the other a decimal string (past 2^53).
    const numeric = plan('::bigint', ['7', '9007199254740993'], 1);
    const expected = await oracle('7, 9007199254740993');
    expect(expected).toContain('09007199254740993');
    expect(await codesOf(remote, numeric)).toEqual(expected);
    expect(await codesOf(local, numeric)).toEqual(expected);
  });

  it('sends a chunk cut from a list of decimal strings with a fraction as numbers', { timeout: 30_000 }, async () => {
    // A NUMERIC $from of decimal strings only, one with a fraction: the whole list goes as numbers.
    const fraction = plan('::numeric', ['0.10000000000000000001', '9007199254740993'], 1);
    const numbers = await oracle('0.10000000000000000001, 9007199254740993');
    expect(numbers).toContain('09007199254740993');
    expect(await codesOf(remote, fraction)).toEqual(numbers);
    expect(await codesOf(local, fraction)).toEqual(numbers);
  });

  it('sends a chunk of a decimal string with a fraction, cut from a list holding a word, as text', { timeout: 30_000 }, async () => {
    // A text $from holding a word: every value goes as it is, the decimal string as text.
    const words = plan('', ['123456789012345678.5', 'x'], 1);
    const text = await oracle("'123456789012345678.5', 'x'");
    expect(text).toEqual(['123456789012345678.5']);
    expect(await codesOf(remote, words)).toEqual(text);
    expect(await codesOf(local, words)).toEqual(text);
  });
});
