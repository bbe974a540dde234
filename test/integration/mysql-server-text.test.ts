import { beforeAll, expect, it } from 'vitest';
import { from, type Row } from '../../src/index.js';
import { pgAndMysql } from '../support/pg-and-mysql.js';
import { describeWithServer, requireServer } from '../support/servers.js';

/**
 * MariaDB/MySQL values the values policy keeps as text, and text keys meeting MariaDB's
 * collations, each against what the server itself answers for the same statement: zero
 * dates as the server's text (with their fraction), TIME as PostgreSQL writes a time, BIT as
 * its bytes, and 4-byte characters bound into `IN (?)` matched as one MariaDB statement
 * matches them under the column's collation.
 */

const pgCheck = await requireServer('postgres');
const myCheck = await requireServer('mysql');

describeWithServer(pgCheck.skipReason ? pgCheck : myCheck, 'MariaDB/MySQL values kept as text, and text keys under its collations', () => {
  const servers = pgAndMysql();
  let temporal: string;
  let chars: string;
  let keys: string;

  beforeAll(async () => {
    const { pg, my } = servers;
    temporal = servers.myTable('temporal');
    chars = servers.myTable('chars');
    keys = servers.pgTable('ckeys');
    // Zero dates need a session that allows them.
    await my.exec(`CREATE TABLE ${temporal} (id INT PRIMARY KEY, dt0 DATETIME, dt3 DATETIME(3), dt6 DATETIME(6), ts2 TIMESTAMP(2) NULL, t6 TIME(6), t0 TIME, b BIT(12), y YEAR)`);
    await my.exec(`SET STATEMENT sql_mode = '' FOR INSERT INTO ${temporal} VALUES
      (1, '0000-00-00 00:00:00', '0000-00-00 00:00:00.000', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '00:00:00.5', '838:59:59', b'101', 0),
      (2, '2024-00-10 10:00:00', '2024-00-10 10:00:00.000', '2024-02-00 10:00:00.000100', NULL, '-01:02:03', '-00:00:01', b'111111111111', 2024),
      (3, '2024-01-02 03:04:05', '2024-01-02 03:04:05.100', '2024-01-02 03:04:05.000001', '2024-01-02 03:04:05.5', '-838:59:59.999999', '00:00:00', b'0', NULL)`);
    await my.exec(`CREATE TABLE ${chars} (id INT PRIMARY KEY, dflt VARCHAR(20), bin VARCHAR(20) COLLATE utf8mb4_bin) CHARACTER SET utf8mb4`);
    const words = ['😀', '😁', '𝒜', 'a', 'A', 'a '];
    await my.exec(`INSERT INTO ${chars} VALUES ${words.map((_, i) => `(${i + 1}, ?, ?)`).join(', ')}`, words.flatMap((w) => [w, w]));
    await pg.exec(`CREATE TABLE ${keys} (k TEXT)`);
    await pg.exec(`INSERT INTO ${keys} VALUES ('😀'), ('a')`);
  });

  async function rows(source: 'my' | 'pg', sql: string): Promise<Row[]> {
    const result = await servers.executor.execute({ fragments: [{ id: 'q', source, query: { sql } }] });
    expect(result.errors.map((e) => e.message)).toEqual([]);
    return result.rows.map((r) => ({ ...r }));
  }

  it('gives a zero or partly zero date as the server writes it, its fraction too; other dates as ISO 8601', async () => {
    const got = await rows('my', `SELECT id, dt0, dt3, dt6, ts2 FROM ${temporal} ORDER BY id`);
    const server = await servers.my.exec(`SELECT id, CAST(dt0 AS CHAR) AS dt0, CAST(dt3 AS CHAR) AS dt3, CAST(dt6 AS CHAR) AS dt6, CAST(ts2 AS CHAR) AS ts2 FROM ${temporal} WHERE id < 3 ORDER BY id`);
    expect(got.slice(0, 2)).toEqual(server.map((r) => ({ ...r })));
    expect(got[1]!.dt3).toBe('2024-00-10 10:00:00.000');
    expect(got[2]).toEqual({ id: 3, dt0: '2024-01-02T03:04:05.000Z', dt3: '2024-01-02T03:04:05.100Z', dt6: '2024-01-02T03:04:05.000Z', ts2: '2024-01-02T03:04:05.500Z' });
  });

  it('gives a TIME as PostgreSQL writes the same time (no trailing zeros in the fraction), hours past 24 and negative as the server has them; a YEAR as a number', async () => {
    const got = await rows('my', `SELECT t6, t0, y FROM ${temporal} ORDER BY id`);
    expect(got).toEqual([
      { t6: '00:00:00.5', t0: '838:59:59', y: 0 },
      { t6: '-01:02:03', t0: '-00:00:01', y: 2024 },
      { t6: '-838:59:59.999999', t0: '00:00:00', y: null },
    ]);
    // The server's own text keeps the column's six places: '00:00:00.500000'.
    expect((await servers.my.exec(`SELECT CAST(t6 AS CHAR) AS t FROM ${temporal} WHERE id = 1`))[0]!.t).toBe('00:00:00.500000');
    expect(await rows('pg', `SELECT '00:00:00.5'::time(6)::text AS t6`)).toEqual([{ t6: '00:00:00.5' }]);
  });

  it('gives a BIT column as the bytes the server sends (big-endian, its width rounded up to bytes)', async () => {
    const got = await rows('my', `SELECT b FROM ${temporal} ORDER BY id`);
    const server = await servers.my.exec(`SELECT HEX(b) AS h FROM ${temporal} ORDER BY id`);
    expect(got.map((r) => (r.b as Buffer).toString('hex'))).toEqual(['0005', '0fff', '0000']);
    expect(got.map((r) => Number.parseInt((r.b as Buffer).toString('hex'), 16))).toEqual(server.map((r) => Number.parseInt(String(r.h), 16)));
  });

  it('bind-joins PostgreSQL text holding a 4-byte character as MariaDB matches it: every such character alike under the default collation, only itself under _bin', async () => {
    for (const column of ['dflt', 'bin']) {
      const result = await servers.executor.execute({
        fragments: [
          { id: 'up', source: 'pg', query: { sql: `SELECT k FROM ${keys}` } },
          { id: 'dn', source: 'my', dependsOn: ['up'], query: { sql: `SELECT id FROM ${chars} WHERE ${column} IN (?)`, params: [from('up', 'k')] } },
        ],
        merge: { op: 'sort', by: [{ column: 'id' }], input: 'dn' },
      });
      expect(result.errors.map((e) => e.message)).toEqual([]);
      const oracle = await servers.my.exec(`SELECT id FROM ${chars} WHERE ${column} IN ('😀', 'a') ORDER BY id`);
      expect(result.rows.map((r) => r.id), column).toEqual(oracle.map((r) => r.id));
    }
    // Under the server's default utf8mb4 collation '😀' matches '😁' and '𝒜' too (and 'a' matches 'A' and 'a ').
    const [collation] = await servers.my.exec(`SELECT COLLATION(dflt) AS c FROM ${chars} LIMIT 1`);
    if (collation!.c === 'utf8mb4_general_ci') expect((await servers.my.exec(`SELECT id FROM ${chars} WHERE dflt IN ('😀') ORDER BY id`)).map((r) => r.id)).toEqual([1, 2, 3]);
  });
});
