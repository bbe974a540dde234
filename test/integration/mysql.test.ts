import { afterAll, beforeAll, expect, it } from 'vitest';
import { TributaryError } from '../../src/errors.js';
import { mysqlSource, type MysqlSource } from '../../src/sources/mysql/connector.js';
import type { ExecuteContext } from '../../src/sources/source.js';
import type { Row } from '../../src/data/row.js';
import {
  describeWithServer,
  eventually,
  mysqlAdmin,
  requireServer,
  scratchTables,
  uniqueName,
  type Admin,
} from '../support/servers.js';

const server = await requireServer('mysql');

/** The rejection of `promise` (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

describeWithServer(server, 'mysqlSource (real MariaDB/MySQL)', () => {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let source: MysqlSource;
  let items: string;

  beforeAll(async () => {
    admin = await mysqlAdmin(server.url);
    tables = scratchTables(admin);
    items = tables.name('items');
    await admin.exec(`CREATE TABLE ${items} (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL) ENGINE=InnoDB`);
    const values = Array.from({ length: 2000 }, (_, i) => [i + 1, `item ${i + 1}`]);
    await admin.exec(`INSERT INTO ${items} (id, name) VALUES ?`, [values]);
    source = mysqlSource({ url: server.url, connectionLimit: 4, name: 'shop' });
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
  it('expands a bound list into IN (?, ?, …), still bound, next to other params', async () => {
    const sql = `SELECT id, '?' AS q FROM ${items} /* ? */ WHERE name <> ? AND id IN (?) AND id > ? ORDER BY id -- ?`;
    expect(await run(sql, ['nobody', [5, 1, 9], 1])).toEqual([
      { id: 5, q: '?' },
      { id: 9, q: '?' },
    ]);
    const thousand = Array.from({ length: 1000 }, (_, i) => i * 2 + 1);
    const rows = await run(`SELECT id FROM ${items} WHERE id IN (?) ORDER BY id`, [thousand]);
    expect(rows.map((r) => r.id)).toEqual(thousand);
  });

  it('rejects a bound list when the placeholders and params do not line up', async () => {
    const error = await rejection(run(`SELECT id FROM ${items} WHERE id IN (?)`, [[1], 2]));
    expect(error).toMatchObject({ code: 'FRAGMENT_FAILED', retryable: false });
  });

  it('passes injection strings as data: they come back verbatim and nothing is dropped', async () => {
    const attacks = ["'); DROP TABLE " + items + '; --', "' OR 1=1 --", "\\'; DROP TABLE x; --", "\\' OR '1'='1", 'a"b`c?d'];
    for (const attack of attacks) {
      expect(await run('SELECT ? AS v', [attack])).toEqual([{ v: attack }]);
      expect(await run(`SELECT id FROM ${items} WHERE name = ?`, [attack])).toEqual([]);
    }
    expect(await run(`SELECT id FROM ${items} WHERE name IN (?)`, [attacks])).toEqual([]);
    expect(await run(`SELECT COUNT(*) AS n FROM ${items}`)).toEqual([{ n: 2000 }]);
  });

  it('classifies a real deadlock as retryable, keeping errno 1213', async () => {
    const accounts = tables.name('accounts');
    await admin.exec(`CREATE TABLE ${accounts} (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB`);
    await admin.exec(`INSERT INTO ${accounts} (id, v) VALUES ?`, [Array.from({ length: 50 }, (_, i) => [i + 1, 0])]);
    const other = await mysqlAdmin(server.url);
    try {
      // The other side changes many rows, so InnoDB picks the source's small lock-only
      // transaction as the deadlock victim.
      await other.exec('START TRANSACTION');
      await other.exec(`UPDATE ${accounts} SET v = v + 1 WHERE id >= 2`);
      const victim = rejection(run(`SELECT id FROM ${accounts} ORDER BY id FOR UPDATE`));
      const waiting = async () =>
        (await admin.exec(
          `SELECT 1 FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT' AND trx_mysql_thread_id <> ?`,
          [other.id],
        )).length > 0;
      // InnoDB refreshes INNODB_TRX only after 100 ms without reads: poll slower than that.
      expect(await eventually(waiting, 3000, 150)).toBe(true);
      const otherDone = other.exec(`UPDATE ${accounts} SET v = v + 1 WHERE id = 1`);
      const error = await victim;
      expect(error).toBeInstanceOf(TributaryError);
      expect(error).toMatchObject({ code: 'FRAGMENT_FAILED', driverCode: '1213', retryable: true });
      expect((error as TributaryError).cause).toMatchObject({ errno: 1213 });
      expect(source.isRetryable(error)).toBe(true);
      await otherDone;
    } finally {
      await other.exec('ROLLBACK').catch(() => undefined);
      await other.close();
    }
  });

  it('classifies a syntax error and an unknown table as not retryable, keeping the errno', async () => {
    const syntax = await rejection(run('SELEC 1', [], { fragmentId: 'broken' }));
    expect(syntax).toMatchObject({ code: 'FRAGMENT_FAILED', driverCode: '1064', retryable: false });
    // The driver's words, labelled; the pipeline adds the fragment and source prefix once.
    expect((syntax as Error).message).toMatch(/^MariaDB\/MySQL error 1064: .*SQL syntax/);
    expect(syntax).toMatchObject({ issues: [{ path: 'fragments.broken' }] });
    expect(source.isRetryable(syntax)).toBe(false);
    const unknown = await rejection(run(`SELECT * FROM ${uniqueName('missing')}`));
    expect(unknown).toMatchObject({ code: 'FRAGMENT_FAILED', driverCode: '1146', retryable: false });
    expect(source.isRetryable(unknown)).toBe(false);
  });

  it('validates its options with CONFIG_INVALID issues, refusing options the values policy owns', () => {
    for (const bad of [{ connectionLimit: 0 }, { dateStrings: false }, { typo: 1 }]) {
      const attempt = () => mysqlSource({ url: server.url, ...bad } as never);
      expect(attempt).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }) as unknown as Error);
    }
  });

  it('reports its server version and declares its lane from the pool size', async () => {
    expect(await source.version()).toMatch(/^mysql:\d+\.\d+/);
    expect(source.kind).toBe('mysql');
    expect(source.maxConcurrency).toBe(4);
    expect(mysqlSource({ url: server.url, maxConcurrency: 2 }).maxConcurrency).toBe(2);
  });

});
