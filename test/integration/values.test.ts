import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mysqlSource, type MysqlSource } from '../../src/sources/mysql/connector.js';
import { postgresSource, type PostgresSource } from '../../src/sources/postgres/connector.js';
import type { ExecuteContext } from '../../src/sources/source.js';
import { columnsOf } from '../../src/data/columns.js';
import { describeWithServer, mysqlAdmin, requireServer, scratchTables } from '../support/servers.js';

const [postgres, mysql] = await Promise.all([requireServer('postgres'), requireServer('mysql')]);

const ctx = (params: unknown[] = []): ExecuteContext => ({ params, signal: new AbortController().signal });

describeWithServer(postgres, 'values policy on PostgreSQL', () => {
  let source: PostgresSource;
  beforeAll(() => {
    // A session time zone far from UTC proves timestamptz is converted, not relabelled.
    source = postgresSource({ url: postgres.url, options: '-c TimeZone=Asia/Kolkata' });
  });
  afterAll(() => source.close());

  it('maps every policy type', async () => {
    const [row] = await source.execute(
      {
        sql: `SELECT 9007199254740993::int8 AS big, (-9223372036854775808)::int8 AS min_big, 42::int8 AS small_big,
                     32767::int2 AS i2, 2147483647::int4 AS i4,
                     12345678901234567890.0123456789::numeric AS num, 1.10::numeric(5,2) AS money_like,
                     1.1::real AS r, 1.1::float8 AS d, true AS t, false AS f,
                     DATE '2024-02-29' AS day, TIMESTAMP '2024-01-02 03:04:05.123456' AS ts,
                     TIMESTAMPTZ '2024-01-02 03:04:05.5+05:30' AS tstz, 'infinity'::timestamp AS forever,
                     '{"a":[1,2,{"b":null}]}'::json AS j, '{"a":1}'::jsonb AS jb, '\\x00ff10'::bytea AS bin,
                     NULL::int AS nothing, ARRAY[1, 9007199254740993]::int8[] AS big_arr,
                     ARRAY['1.10', NULL]::numeric[] AS num_arr, ARRAY[DATE '2024-01-01'] AS day_arr,
                     ARRAY[TIMESTAMPTZ '2024-01-01 00:00:00+01'] AS ts_arr`,
      },
      ctx(),
    );
    expect(row).toEqual({
      big: '9007199254740993',
      min_big: '-9223372036854775808',
      small_big: 42,
      i2: 32767,
      i4: 2147483647,
      num: '12345678901234567890.0123456789',
      money_like: 1.1,
      r: 1.1,
      d: 1.1,
      t: true,
      f: false,
      day: '2024-02-29',
      ts: '2024-01-02T03:04:05.123Z',
      tstz: '2024-01-01T21:34:05.500Z',
      forever: 'infinity',
      j: { a: [1, 2, { b: null }] },
      jb: { a: 1 },
      bin: Buffer.from([0x00, 0xff, 0x10]),
      nothing: null,
      big_arr: [1, '9007199254740993'],
      num_arr: [1.1, null],
      day_arr: ['2024-01-01'],
      ts_arr: ['2023-12-31T23:00:00.000Z'],
    });
  });

  it('gives DECIMAL values as numbers up to 15 digits, else the canonical exact string, and names columns on zero rows', async () => {
    const rows = await source.execute(
      { sql: `SELECT 12345678901234567.8900000000::numeric(30,10) AS long, 0012.5000::numeric(9,4) AS short, -0.00::numeric(5,2) AS zero,
                     9007199254740993.00::numeric(20,2) AS unsafe, 1234567890.123456::numeric AS sixteen` },
      ctx(),
    );
    expect(rows).toEqual([{ long: '12345678901234567.89', short: 12.5, zero: 0, unsafe: '9007199254740993', sixteen: '1234567890.123456' }]);
    const none = (await source.execute({ sql: 'SELECT 1.5::numeric AS n, 2 AS k WHERE false' }, ctx())) as unknown[];
    expect(none).toEqual([]);
    expect(columnsOf(none as never[])).toEqual(['n', 'k']);
  });

  it('round-trips extreme integers and buffers through bound parameters', async () => {
    const [row] = await source.execute(
      { sql: 'SELECT $1::int8 AS max_big, $2::bytea AS bin, $3::numeric AS num' },
      ctx(['9223372036854775807', Buffer.from('hi'), '0.1000000000000000000001']),
    );
    expect(row).toEqual({ max_big: '9223372036854775807', bin: Buffer.from('hi'), num: '0.1000000000000000000001' });
  });

  it('gives an interval as the server\'s text, like time and uuid, so a value is the same from the cache\'s shared store', async () => {
    // pg's default is a PostgresInterval object: v8.serialize (Redis, recordings) brings back
    // a plain object without its methods, and two spellings of one interval differ anyway.
    const [row] = await source.execute({ sql: "SELECT interval '1 day 2 hours' AS iv, ARRAY[interval '90 minutes', NULL] AS ivs, time '12:00' AS t" }, ctx());
    expect(row).toEqual({ iv: '1 day 02:00:00', ivs: ['01:30:00', null], t: '12:00:00' });
    expect(structuredClone(row)).toEqual(row);
  });

  it("installs its parsers per pool: pg's global parsers and other pools are untouched", async () => {
    expect(await source.execute({ sql: 'SELECT 1::int8 AS one' }, ctx())).toEqual([{ one: 1 }]);
    const plain = new pg.Pool({ connectionString: postgres.url, max: 1 });
    try {
      const { rows } = await plain.query("SELECT 1::int8 AS one, DATE '2024-02-29' AS day");
      expect(rows[0].one).toBe('1');
      expect(rows[0].day).toBeInstanceOf(Date);
    } finally {
      await plain.end();
    }
  });
});

describeWithServer(mysql, 'values policy on MariaDB/MySQL', () => {
  let source: MysqlSource;
  let tables: ReturnType<typeof scratchTables>;
  let typed: string;
  beforeAll(async () => {
    const admin = await mysqlAdmin(mysql.url);
    tables = scratchTables(admin);
    typed = tables.name('typed');
    await admin.exec(`CREATE TABLE ${typed} (
      id INT PRIMARY KEY, big BIGINT, ubig BIGINT UNSIGNED, num DECIMAL(30,10), r FLOAT, d DOUBLE,
      flag TINYINT(1), b BOOLEAN, day DATE, dt DATETIME(6), ts TIMESTAMP(3) NULL, j JSON,
      bin BLOB, vb VARBINARY(10), txt TEXT)`);
    // TIMESTAMP is stored in UTC: written at +02:00, it must read back two hours earlier.
    await admin.exec("SET time_zone = '+02:00'");
    await admin.exec(
      `INSERT INTO ${typed} VALUES
        (1, 9007199254740993, 18446744073709551615, 12345678901234567890.0123456789, 1.1, 1.1,
         1, TRUE, '2024-02-29', '2024-01-02 03:04:05.123456', '2024-01-02 05:04:05.123',
         '{"a":[1,2,{"b":null}]}', X'00FF10', X'7879', 'héllo'),
        (2, 42, 7, 1.5, NULL, NULL, 0, FALSE, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
    );
    source = mysqlSource({ url: mysql.url });
  });
  afterAll(async () => {
    await source.close();
    await tables.dropAll();
  });

  it('maps every policy type', async () => {
    const rows = await source.execute({ sql: `SELECT * FROM ${typed} ORDER BY id` }, ctx());
    expect(rows).toEqual([
      {
        id: 1,
        big: '9007199254740993',
        ubig: '18446744073709551615',
        num: '12345678901234567890.0123456789',
        r: 1.1,
        d: 1.1,
        flag: 1,
        b: 1,
        day: '2024-02-29',
        dt: '2024-01-02T03:04:05.123Z',
        ts: '2024-01-02T03:04:05.123Z',
        j: { a: [1, 2, { b: null }] },
        bin: Buffer.from([0x00, 0xff, 0x10]),
        vb: Buffer.from('xy'),
        txt: 'héllo',
      },
      {
        id: 2,
        big: 42,
        ubig: 7,
        num: 1.5,
        r: null,
        d: null,
        flag: 0,
        b: 0,
        day: null,
        dt: null,
        ts: null,
        j: null,
        bin: null,
        vb: null,
        txt: null,
      },
    ]);
  });

  it('gives DECIMAL values as numbers up to 15 digits, else the canonical exact string, and names columns on zero rows', async () => {
    const rows = await source.execute(
      { sql: `SELECT CAST('12345678901234567.89' AS DECIMAL(30,10)) AS \`long\`, CAST('12.5' AS DECIMAL(9,4)) AS short, CAST('-0.00' AS DECIMAL(5,2)) AS zero,
                     CAST('9007199254740993' AS DECIMAL(20,2)) AS unsafe, CAST('1234567890.123456' AS DECIMAL(20,6)) AS sixteen` },
      ctx(),
    );
    expect(rows).toEqual([{ long: '12345678901234567.89', short: 12.5, zero: 0, unsafe: '9007199254740993', sixteen: '1234567890.123456' }]);
    const none = (await source.execute({ sql: `SELECT num AS n, id AS k FROM ${typed} WHERE id < 0` }, ctx())) as unknown[];
    expect(none).toEqual([]);
    expect(columnsOf(none as never[])).toEqual(['n', 'k']);
  });

  it('binds extreme integers exactly and runs the session in UTC', async () => {
    const [row] = await source.execute(
      { sql: `SELECT ubig, NOW() AS now, UTC_TIMESTAMP() AS utc FROM ${typed} WHERE ubig = ? AND big = ?` },
      ctx(['18446744073709551615', '9007199254740993']),
    );
    expect(row?.ubig).toBe('18446744073709551615');
    // The session's clock is UTC: NOW() and UTC_TIMESTAMP() of one statement are the same instant.
    expect(row?.now).toEqual(row?.utc);
    expect(Number.isNaN(Date.parse(String(row?.now)))).toBe(false);
    // One below: a comparison through doubles would wrongly match the row above.
    expect(await source.execute({ sql: `SELECT id FROM ${typed} WHERE big = ?` }, ctx(['9007199254740992']))).toEqual([]);
  });

  it('parses JSON the server marks as JSON; on MariaDB an expression that drops the mark is a string', async () => {
    const version = await source.version();
    const [row] = await source.execute(
      { sql: `SELECT JSON_OBJECT('a', 1) AS marked, IFNULL(j, '{}') AS unmarked FROM ${typed} WHERE id = 1` },
      ctx(),
    );
    expect(row?.marked).toEqual({ a: 1 });
    // MariaDB's JSON is LONGTEXT; only its extended column metadata says "json".
    if (version.includes('MariaDB')) expect(row?.unmarked).toBe('{"a":[1,2,{"b":null}]}'); // stored verbatim
  });
});
