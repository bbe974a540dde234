import { afterAll, beforeAll, expect, it } from 'vitest';
import { mysqlSource, postgresSource, type ExecuteContext, type Row, type SourceExecutor } from '../../src/index.js';
import { describeWithServer, requireServer } from '../support/servers.js';

/**
 * A streamed statement the server rejects — at once (an unknown table) or in a later batch
 * (a division by zero, a subquery of two rows, at row 3) — is over on the server: its connection goes back to the
 * pool like a whole-result call's, rather than being cancelled from a side connection and
 * destroyed (which cost a new connection per failing call, and its backend).
 */

const [postgres, mysql] = await Promise.all([requireServer('postgres'), requireServer('mysql')]);

const ctx = (stream: boolean): ExecuteContext => ({ params: [], signal: new AbortController().signal, fragmentId: 'f', ...(stream ? { stream: true } : {}) });

async function streamed(source: SourceExecutor, sql: string): Promise<unknown> {
  try {
    for await (const _batch of source.execute({ sql }, ctx(true)) as AsyncIterable<Row[]>) void _batch;
  } catch (error) {
    return error;
  }
  throw new Error('the statement did not fail');
}

async function connectionId(source: SourceExecutor, sql: string): Promise<unknown> {
  const rows = (await source.execute({ sql }, ctx(false))) as Row[];
  return rows[0]?.id;
}

const cases = [
  {
    server: postgres,
    name: 'postgresSource',
    source: () => postgresSource({ url: postgres.url, max: 1, streamBatchSize: 2 }),
    id: 'SELECT pg_backend_pid() AS id',
    failing: ['SELECT * FROM stream_errors_no_such_table', 'SELECT 1 / (3 - n) AS q FROM generate_series(1, 5) AS n'],
  },
  {
    server: mysql,
    name: 'mysqlSource',
    source: () => mysqlSource({ url: mysql.url, connectionLimit: 1, streamBatchSize: 2 }),
    id: 'SELECT CONNECTION_ID() AS id',
    // From row 3 on, the subquery returns two rows (error 1242).
    failing: ['SELECT * FROM stream_errors_no_such_table', 'SELECT seq, (SELECT 1 UNION SELECT seq < 3) AS q FROM seq_1_to_5'],
  },
];

for (const c of cases) {
  describeWithServer(c.server, `${c.name}: a streamed statement the server rejects`, () => {
    let source: SourceExecutor;
    beforeAll(() => {
      source = c.source();
    });
    afterAll(() => source.close?.());

    it('fails with the server error and gives its connection back to the pool', async () => {
      const before = await connectionId(source, c.id);
      for (const sql of c.failing) {
        const error = (await streamed(source, sql)) as { code?: string; retryable?: boolean };
        expect(error).toMatchObject({ code: 'FRAGMENT_FAILED', retryable: false });
        expect(await connectionId(source, c.id)).toBe(before);
      }
    });
  });
}
