import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, httpSource, postgresSource, type Executor } from '../../src/index.js';
import { reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';
import { describeWithServer, pgAdmin, requireServer, scratchTables, type Admin } from '../support/servers.js';

const server = await requireServer('postgres');

/**
 * 64-bit ids from an HTTP API bound into PostgreSQL: JSON.parse would round
 * 9007199254740993 to …992 and the bind join would find the wrong row, or none. The body
 * keeps them exact (the values policy), so the join equals one SQL statement over the same
 * ids.
 */
describeWithServer(server, 'an HTTP API’s 64-bit ids, bound into PostgreSQL', () => {
  const ids = ['9007199254740993', '9223372036854775807', '-9223372036854775808', '12345678901234567'];
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let table: string;
  let api: TestHttpServer;
  let executor: Executor;

  beforeAll(async () => {
    admin = await pgAdmin(server.url);
    tables = scratchTables(admin);
    table = tables.name('accounts');
    await admin.exec(`CREATE TABLE ${table} (id bigint PRIMARY KEY, name text)`);
    // Each id and its neighbours (within bigint's range), so a rounded key would find another row or none.
    const MAX = 2n ** 63n - 1n;
    const keys = new Set<string>();
    for (const id of ids.map(BigInt)) for (const d of [-1n, 0n, 1n]) if (id + d <= MAX && id + d >= -MAX - 1n) keys.add(String(id + d));
    await admin.exec(`INSERT INTO ${table} SELECT k, 'account ' || k::text FROM unnest($1::bigint[]) AS k`, [[...keys]]);
    // The API prints the ids as JSON numbers, as many do.
    api = await startHttpServer({ 'GET /accounts': reply.json(`{"items": [${ids.map((id) => `{"id": ${id}}`).join(', ')}], "next": null}`) });
    executor = createExecutor({ sources: { api: httpSource({ baseUrl: api.url }), pg: postgresSource({ url: server.url }) }, cache: false });
  });

  afterAll(async () => {
    await executor?.close();
    await api?.close();
    await tables?.dropAll();
    await admin?.close();
  });

  it('joins on the exact ids: the rows one SQL statement over the same ids gives', async () => {
    const result = await executor.execute({
      fragments: [
        { id: 'remote', source: 'api', query: { path: '/accounts', rows: '/items' } },
        {
          id: 'local',
          source: 'pg',
          dependsOn: ['remote'],
          query: { sql: `SELECT id, name FROM ${table} WHERE id = ANY($1::bigint[]) ORDER BY id`, params: [{ $from: 'remote', column: 'id' }] },
        },
      ],
      merge: {
        op: 'sort',
        input: { op: 'project', input: { op: 'join', type: 'inner', left: 'remote', right: 'local', on: [['id', 'id']] }, columns: ['id', 'name'] },
        by: [{ column: 'name' }],
      },
    });
    expect(result.errors).toEqual([]);
    const oracle = await admin.exec(`SELECT id::text AS id, name FROM ${table} WHERE id = ANY($1::bigint[]) ORDER BY name`, [ids]);
    expect(oracle).toHaveLength(ids.length);
    expect(result.rows).toEqual(oracle);
  });
});
