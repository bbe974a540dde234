import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithServer, pgAdmin, repoFileUrl, requireServer, runScript, scratchTables, type Admin } from '../support/servers.js';

/**
 * A JS `Date` bound into PostgreSQL is sent as its UTC instant, whatever the Node process's
 * time zone: the values policy reads zoneless timestamps as UTC, and MariaDB and SQLite bind
 * a Date as UTC. pg alone would send it as local wall-clock time. The statements run in a
 * child process whose TZ is Asia/Tokyo (+09:00); the rows must be those of the same query
 * with the timestamp written as UTC text, in one statement.
 */

const server = await requireServer('postgres');

describeWithServer(server, 'a Date bound into PostgreSQL from a process outside UTC', () => {
  let admin: Admin;
  let tables: ReturnType<typeof scratchTables>;
  let events: string;

  beforeAll(async () => {
    admin = await pgAdmin(server.url);
    tables = scratchTables(admin);
    events = tables.name('events');
    await admin.exec(`CREATE TABLE ${events} (id INT PRIMARY KEY, ts TIMESTAMP(3), tstz TIMESTAMPTZ, day DATE)`);
    await admin.exec(`INSERT INTO ${events} VALUES
      (1, '2024-01-02 03:04:05.123', '2024-01-02 03:04:05.123+00', '2024-01-02'),
      (2, '2024-01-02 12:04:05.123', '2024-01-02 12:04:05.123+00', '2024-01-01'),
      (3, '2024-01-01 18:04:05.123', '2024-01-01 18:04:05.123+00', '2024-01-03')`);
  });
  afterAll(() => tables.dropAll());

  it('matches timestamp, timestamptz and date columns on the Date’s UTC instant, as one value and in a list, whole and streamed', async () => {
    const instant = '2024-01-02T03:04:05.123Z';
    const queries = {
      ts: `SELECT id FROM ${events} WHERE ts = $1 ORDER BY id`,
      tstz: `SELECT id FROM ${events} WHERE tstz = $1 ORDER BY id`,
      day: `SELECT id FROM ${events} WHERE day = $1::date ORDER BY id`,
      list: `SELECT id FROM ${events} WHERE ts = ANY($1) ORDER BY id`,
    };
    const script = `
      const { postgresSource } = await import(${JSON.stringify(repoFileUrl('src/sources/postgres/connector.ts'))});
      const source = postgresSource({ url: ${JSON.stringify(server.url)} });
      const when = new Date(${JSON.stringify(instant)});
      const queries = ${JSON.stringify(queries)};
      const out = { offsetMinutes: when.getTimezoneOffset() };
      const signal = new AbortController().signal;
      for (const [name, sql] of Object.entries(queries)) {
        const params = name === 'list' ? [[when, new Date(0)]] : [when];
        out[name] = (await source.execute({ sql, params }, { params, signal })).map((r) => r.id);
        const streamed = [];
        for await (const batch of source.execute({ sql, params }, { params, signal, stream: true })) streamed.push(...batch.map((r) => r.id));
        out[name + '_streamed'] = streamed;
      }
      await source.close();
      console.log(JSON.stringify(out));
    `;
    const result = await runScript(script, { TZ: 'Asia/Tokyo' }, 20_000);
    expect(result.stderr).toBe('');
    expect(result).toMatchObject({ code: 0, timedOut: false });
    const out = JSON.parse(result.stdout) as Record<string, unknown>;
    // The child really ran nine hours east of UTC.
    expect(out.offsetMinutes).toBe(-540);
    const literal = "'2024-01-02 03:04:05.123'";
    const oracle = {
      ts: await admin.exec(`SELECT id FROM ${events} WHERE ts = ${literal} ORDER BY id`),
      tstz: await admin.exec(`SELECT id FROM ${events} WHERE tstz = TIMESTAMPTZ '2024-01-02 03:04:05.123+00' ORDER BY id`),
      day: await admin.exec(`SELECT id FROM ${events} WHERE day = DATE '2024-01-02' ORDER BY id`),
      list: await admin.exec(`SELECT id FROM ${events} WHERE ts IN (${literal}, '1970-01-01 00:00:00') ORDER BY id`),
    };
    for (const [name, rows] of Object.entries(oracle)) {
      const ids = rows.map((r) => r.id);
      expect(ids, name).toEqual([1]);
      expect(out[name], name).toEqual(ids);
      expect(out[`${name}_streamed`], `${name}, streamed`).toEqual(ids);
    }
  });
});
