import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithServer, mysqlAdmin, mysqlUrl, pgAdmin, pgUrl, requireServer, scratchTables, type Admin } from '../support/servers.js';
import { parseCsv, runCli, tempDir } from './support.js';

/** The command line over the real servers: money printed to the cent, headers on zero rows. */

const pgCheck = await requireServer('postgres');
const myCheck = await requireServer('mysql');

describeWithServer(pgCheck.skipReason ? pgCheck : myCheck, 'tributary run over PostgreSQL and MariaDB', () => {
  const tmp = tempDir();
  let pg: Admin;
  let my: Admin;
  let pgTables: ReturnType<typeof scratchTables>;
  let myTables: ReturnType<typeof scratchTables>;
  let pay: string;
  let cust: string;
  let sources: string;

  beforeAll(async () => {
    pg = await pgAdmin();
    my = await mysqlAdmin();
    pgTables = scratchTables(pg);
    myTables = scratchTables(my);
    pay = pgTables.name('pay');
    cust = myTables.name('cust');
    await pg.exec(`CREATE TABLE ${pay} (id int PRIMARY KEY, customer_id int NOT NULL, amount DECIMAL(10,2) NOT NULL)`);
    // 0.1 + 0.2 style amounts: as doubles these sums drift; as decimals they do not.
    await pg.exec(`INSERT INTO ${pay} SELECT g, g % 7, ((g * 7919) % 100000) / 100.0 + 0.1 FROM generate_series(1, 3000) g`);
    await my.exec(`CREATE TABLE ${cust} (id int PRIMARY KEY, region VARCHAR(2) NOT NULL)`);
    await my.exec(`INSERT INTO ${cust} VALUES (0, 'EU'), (1, 'US'), (2, 'EU'), (3, 'AP'), (4, 'US'), (5, 'EU'), (6, 'AP')`);
    sources = tmp.file('sources.json', { shop: { kind: 'postgres', url: pgUrl() }, crm: { kind: 'mysql', url: mysqlUrl() } });
  });

  afterAll(async () => {
    await pgTables?.dropAll();
    await myTables?.dropAll();
    tmp.remove();
  });

  it('prints per-region sums of DECIMAL money across PostgreSQL ⋈ MariaDB exactly as one SQL statement computes them', async () => {
    const plan = tmp.file('money.json', {
      fragments: [
        { id: 'pay', source: 'shop', query: { sql: `SELECT customer_id, amount FROM ${pay}` } },
        { id: 'cust', source: 'crm', query: { sql: `SELECT id, region FROM ${cust}` } },
      ],
      merge: {
        op: 'sort',
        by: [{ column: 'region' }],
        input: { op: 'aggregate', groupBy: ['region'], aggregates: [{ fn: 'sum', column: 'amount', as: 'total' }], input: { op: 'join', type: 'inner', left: 'pay', right: 'cust', on: [['customer_id', 'id']] } },
      },
    });
    const out = await runCli(['run', plan, '-s', sources, '-f', 'csv', '-q']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    // The oracle: the same join and sums in PostgreSQL, with the regions copied over.
    const expected = await pg.exec(
      `SELECT c.region, SUM(p.amount)::text AS total FROM ${pay} p
       JOIN (VALUES (0, 'EU'), (1, 'US'), (2, 'EU'), (3, 'AP'), (4, 'US'), (5, 'EU'), (6, 'AP')) AS c(id, region) ON c.id = p.customer_id
       GROUP BY c.region ORDER BY c.region`,
    );
    const strip = (t: string): string => t.replace(/\.?0+$/, '');
    expect(parseCsv(out.stdout)).toEqual([['region', 'total'], ...expected.map((r) => [String(r.region), strip(String(r.total))])]);
  });

  it('binds a --param integer beyond 2^53 and a long decimal exactly, not as the nearest double', async () => {
    const big = pgTables.name('big');
    await pg.exec(`CREATE TABLE ${big} (id bigint PRIMARY KEY, label text NOT NULL)`);
    await pg.exec(`INSERT INTO ${big} VALUES (9007199254740992, 'two^53'), (9007199254740993, 'two^53+1')`);
    const plan = tmp.file('exact-params.json', {
      fragments: [{ id: 'f', source: 'shop', query: { sql: `SELECT label, $2::numeric::text AS amount FROM ${big} WHERE id = $1`, params: [{ $param: 'id' }, { $param: 'amount' }] } }],
    });
    const out = await runCli(['run', plan, '-s', sources, '-f', 'json', '-q', '--param', 'id=9007199254740993', '--param', 'amount=12345678901234567.89']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual([{ label: 'two^53+1', amount: '12345678901234567.89' }]);
  });

  it.each([
    ['PostgreSQL', 'shop', () => `SELECT id, customer_id, amount FROM ${pay} WHERE id < 0`, 'id,customer_id,amount'],
    ['MariaDB', 'crm', () => `SELECT id, region FROM ${cust} WHERE id < 0`, 'id,region'],
  ])('prints the header of a zero-row result from %s', async (_, source, sql, header) => {
    const plan = tmp.file(`empty-${source}.json`, { fragments: [{ id: 'f', source, query: { sql: sql() } }] });
    const csv = await runCli(['run', plan, '-s', sources, '-f', 'csv', '-q']);
    expect(csv.stderr).toBe('');
    expect(csv.code).toBe(0);
    expect(csv.stdout).toBe(`${header}\r\n`);
    const table = await runCli(['run', plan, '-s', sources, '-q']);
    expect(table.stdout.split('\n')[0]).toBe(header.split(',').join(' | '));
    expect(table.stdout).toContain('(0 rows)');
  });
});
