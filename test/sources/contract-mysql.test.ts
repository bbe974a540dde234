import { mysqlSource, type SqlQuery } from '../../src/sources/index.js';
import { mysqlAdmin, requireServer, uniqueName, type Admin } from '../support/servers.js';
import { runContract, type Call, type PolicyType } from './contract.js';

const server = await requireServer('mysql');
let admin: Admin | undefined;

const sql = (text: string, params: unknown[] = []): Call<SqlQuery> => ({ query: { sql: text }, params });

// MariaDB/MySQL has no boolean type (BOOLEAN is TINYINT(1), a number) and no arrays.
const VALUES: Partial<Record<PolicyType, string>> = {
  integer: '42',
  'big integer': 'CAST(9007199254740993 AS UNSIGNED)',
  decimal: 'CAST(12.50 AS DECIMAL(10, 2))',
  'long decimal': 'CAST(12345678901234567.89 AS DECIMAL(30, 2))',
  double: 'CAST(1.5 AS DOUBLE)',
  date: "DATE '2024-02-29'",
  timestamp: "TIMESTAMP '2024-01-02 03:04:05.123'",
  json: "JSON_OBJECT('a', JSON_ARRAY(1, 'x'))",
  bytes: "X'0001FF'",
  null: 'NULL',
};

runContract(
  {
    name: 'mysql',
    setup: async () => {
      admin = await mysqlAdmin(server.url);
    },
    teardown: async () => admin?.close(),
    create: (own = {}) => mysqlSource({ url: server.url, connectionLimit: 4, ...own }),
    createSingle: () => mysqlSource({ url: server.url, connectionLimit: 1 }),
    child: () => ({ file: 'src/sources/mysql/connector.ts', factory: 'mysqlSource', options: { url: server.url } }),
    value: (type) => (VALUES[type] === undefined ? undefined : sql(`SELECT ${VALUES[type]} AS v`)),
    // MariaDB's Sequence engine: seq_1_to_N is a table of 1..N produced row by row. `count` is the suite's integer.
    rows: (count, marker) => sql(`SELECT seq AS n, REPEAT('x', 40) AS s FROM seq_1_to_${Math.trunc(count)} /* ${marker} */`),
    numbersIn: (list) => sql('SELECT seq AS n FROM seq_1_to_100 WHERE seq IN (?) ORDER BY seq', [list]),
    echo: (text) => sql('SELECT CAST(? AS CHAR) AS v', [text]),
    slow: (marker) => sql(`SELECT SLEEP(30) /* ${marker} */`),
    openOnServer: async (marker) => {
      const [row] = await admin!.exec(
        `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID() AND COMMAND <> 'Sleep'`,
        [`%${marker}%`],
      );
      return Number(row?.n);
    },
    invalid: [sql('SELEC 1'), sql(`SELECT * FROM ${uniqueName('missing')}`)],
    unreachable: () => mysqlSource({ host: '127.0.0.1', port: 1, user: 'nobody', connectTimeout: 2000 }),
    streams: true,
    bytes: 'estimate',
  },
  { skip: server.skipReason },
);
