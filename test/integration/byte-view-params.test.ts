import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, postgresSource, type Executor, type SourceExecutor } from '../../src/index.js';
import { describeWithServer, pgAdmin, requireServer, scratchTables, type Admin } from '../support/servers.js';

const pg = await requireServer('postgres');

/*
 * A run keeps its own copy of a typed-array param: the bytes of the view, not the whole
 * buffer under it. A view of 4 bytes into a 16 MiB buffer (a slice of a file read whole, a
 * frame of a socket's buffer) copied with its buffer held 16 MiB per run.
 */
describeWithServer(pg, 'a typed-array view as a run param', () => {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let table: string;
  let executor: Executor;
  const seen: unknown[][] = [];
  beforeAll(async () => {
    admin = await pgAdmin(pg.url);
    tables = scratchTables(admin);
    table = tables.name('byteview');
    await admin.exec(`CREATE TABLE ${table} (id int PRIMARY KEY, b bytea NOT NULL)`);
    await admin.exec(`INSERT INTO ${table} VALUES (1, '\\x01020304'), (2, '\\x05060708'), (3, '\\x0102030405')`);
    const db = postgresSource({ url: pg.url });
    const watched: SourceExecutor = { ...db, execute: (query, ctx) => (seen.push([...ctx.params]), db.execute(query, ctx)) };
    executor = createExecutor({ sources: { db: watched }, cache: false });
  });
  afterAll(async () => {
    await executor?.close();
    await tables?.dropAll();
  });

  it('binds the view\'s bytes, and the run holds only those', async () => {
    const whole = new ArrayBuffer(16 * 1024 * 1024);
    const at = 1024;
    const view = new Uint8Array(whole, at, 4);
    view.set([5, 6, 7, 8]);
    const plan = { fragments: [{ id: 'f', source: 'db', query: { sql: `SELECT id FROM ${table} WHERE b = $1 AND $2::int = 2 ORDER BY id`, params: [{ $param: 'bytes' }, { $param: 'n' }] } }] };
    seen.length = 0;
    const result = await executor.execute(plan, { params: { bytes: view, n: 2 } });
    expect(result.rows).toEqual(await admin.exec(`SELECT id FROM ${table} WHERE b = $1 ORDER BY id`, [Buffer.from([5, 6, 7, 8])]));
    expect(result.rows).toEqual([{ id: 2 }]);
    const bound = seen[0]?.[0];
    expect(bound).toBeInstanceOf(Uint8Array);
    expect(bound).not.toBe(view);
    expect([...(bound as Uint8Array)]).toEqual([5, 6, 7, 8]);
    expect((bound as Uint8Array).buffer.byteLength).toBe(4);
  });
});
