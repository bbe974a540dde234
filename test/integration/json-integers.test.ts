import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, mysqlSource, postgresSource, type Executor, type Plan, type Row } from '../../src/index.js';
import { describeWithServer, mysqlAdmin, pgAdmin, requireServer, scratchTables, type Admin } from '../support/servers.js';

/**
 * 64-bit integers inside JSON / JSONB columns (an event's `user_id`, a document's id). The
 * values policy gives every source's integers beyond ±2^53 as their exact decimal strings —
 * an HTTP body's included — so JSON from PostgreSQL and MariaDB keeps them too; JSON.parse
 * would round 9007199254740993 to …992 and a bind join on it would find the wrong row.
 */

const [postgres, mysql] = await Promise.all([requireServer('postgres'), requireServer('mysql')]);

describeWithServer(postgres, 'integers beyond 2^53 inside JSON columns', () => {
  const ids = ['9007199254740993', '9223372036854775807', '-9223372036854775807'];
  let pgDb: Admin;
  let myDb: Admin;
  let pgTables: ReturnType<typeof scratchTables>;
  let myTables: ReturnType<typeof scratchTables>;
  let events: string;
  let accounts: string;
  let executor: Executor;

  beforeAll(async () => {
    pgDb = await pgAdmin(postgres.url);
    pgTables = scratchTables(pgDb);
    events = pgTables.name('jsonints_events');
    await pgDb.exec(`CREATE TABLE ${events} (k int PRIMARY KEY, doc jsonb NOT NULL)`);
    await pgDb.exec(`INSERT INTO ${events} SELECT row_number() OVER (), ('{"user_id": ' || id || ', "amount": 0.1}')::jsonb FROM unnest($1::text[]) AS id`, [ids]);
    myDb = await mysqlAdmin(mysql.url);
    myTables = scratchTables(myDb);
    accounts = myTables.name('jsonints_accounts');
    await myDb.exec(`CREATE TABLE ${accounts} (id BIGINT PRIMARY KEY, doc JSON)`);
    // Each id and its neighbours, so a rounded key would find another row.
    for (const id of ids.map(BigInt)) {
      for (const d of [-1n, 0n, 1n]) {
        const key = String(id + d);
        if (BigInt(key) <= 2n ** 63n - 1n) await myDb.exec(`INSERT INTO ${accounts} VALUES (${key}, JSON_OBJECT('id', ${key}))`);
      }
    }
    executor = createExecutor({
      sources: { pg: postgresSource({ url: postgres.url }), my: mysqlSource({ url: mysql.url }) },
      cache: false,
    });
  });

  afterAll(async () => {
    await executor?.close();
    await pgTables?.dropAll();
    await myTables?.dropAll();
  });

  const one = (source: string, sql: string): Plan => ({ id: 'json', fragments: [{ id: 'f', source, query: { sql } }] });

  async function both(plan: Plan): Promise<Row[][]> {
    const whole = await executor.execute(plan);
    expect(whole.errors).toEqual([]);
    const run = executor.run(plan);
    const streamed: Row[] = [];
    for await (const batch of run.rows()) streamed.push(...batch);
    return [whole.rows, streamed];
  }

  it('keeps them exact in PostgreSQL json, jsonb and their arrays, whole and streamed', async () => {
    const sql = `SELECT doc, doc -> 'user_id' AS id, (doc ->> 'user_id')::text AS text_id, ARRAY[doc] AS docs, doc::json AS plain
                 FROM ${events} ORDER BY k`;
    for (const rows of await both(one('pg', sql))) {
      expect(rows).toEqual(
        ids.map((id) => ({ doc: { user_id: id, amount: 0.1 }, id, text_id: id, docs: [{ user_id: id, amount: 0.1 }], plain: { amount: 0.1, user_id: id } })),
      );
    }
    for (const rows of await both(one('pg', `SELECT '{"n": 42, "s": "9007199254740993"}'::jsonb AS j`))) {
      expect(rows).toEqual([{ j: { n: 42, s: '9007199254740993' } }]);
    }
  });

  it('keeps a jsonb number past a double\'s range (1e400, -1e400, 1e-400) as the decimal its NUMERIC cast gives, not Infinity or 0', async () => {
    const doc = `'{"big": 1e400, "neg": -1e400, "tiny": 1e-400, "small": 1.5e-99}'::jsonb`;
    const [oracle] = await pgDb.exec(`SELECT (d ->> 'big')::numeric::text AS big, (d ->> 'neg')::numeric::text AS neg, (d ->> 'tiny')::numeric::text AS tiny FROM (SELECT ${doc} AS d) AS s`);
    expect(String(oracle!.big)).toHaveLength(401);
    for (const rows of await both(one('pg', `SELECT ${doc} AS doc, ${doc} -> 'big' AS big, (${doc} -> 'tiny')::numeric AS tiny_numeric`))) {
      expect(rows).toEqual([{ doc: { big: oracle!.big, neg: oracle!.neg, tiny: oracle!.tiny, small: 1.5e-99 }, big: oracle!.big, tiny_numeric: oracle!.tiny }]);
    }
  });

  it('keeps them exact in MariaDB/MySQL JSON, whole and streamed', async () => {
    const sql = `SELECT doc, JSON_EXTRACT(doc, '$.id') AS id FROM ${accounts} WHERE id IN (${ids.join(', ')}) ORDER BY id`;
    const sorted = [...ids].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    for (const rows of await both(one('my', sql))) {
      expect(rows).toEqual(sorted.map((id) => ({ doc: { id }, id })));
    }
    // A repeated name holds its last column's value, which is no JSON here: it stays text.
    for (const rows of await both(one('my', `SELECT JSON_OBJECT('id', 1) AS a, 'x' AS a`))) expect(rows).toEqual([{ a: 'x' }]);
  });

  it('binds a jsonb id into MariaDB and finds the row one SQL statement over the same ids finds', async () => {
    const result = await executor.execute({
      id: 'json-bind',
      fragments: [
        { id: 'ev', source: 'pg', query: { sql: `SELECT k, doc -> 'user_id' AS user_id FROM ${events}` } },
        { id: 'acc', source: 'my', dependsOn: ['ev'], query: { sql: `SELECT id FROM ${accounts} WHERE id IN (?)`, params: [{ $from: 'ev', column: 'user_id' }] } },
      ],
      merge: { op: 'sort', by: [{ column: 'k' }], input: { op: 'join', type: 'inner', left: 'ev', right: 'acc', on: [['user_id', 'id']] } },
    });
    expect(result.errors).toEqual([]);
    expect(result.rows).toEqual(ids.map((id, i) => ({ k: i + 1, user_id: id, id })));
  });
});
