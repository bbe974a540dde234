import { postgresSource, type SqlQuery } from '../../src/sources/index.js';
import { pgAdmin, requireServer, uniqueName, type Admin } from '../support/servers.js';
import { runContract, type Call, type PolicyType } from './contract.js';

const server = await requireServer('postgres');
let admin: Admin | undefined;

const sql = (text: string, params: unknown[] = []): Call<SqlQuery> => ({ query: { sql: text }, params });

const VALUES: Partial<Record<PolicyType, string>> = {
  integer: '42::int4',
  'big integer': '9007199254740993::int8',
  decimal: '12.50::numeric',
  'long decimal': '12345678901234567.89::numeric',
  double: '1.5::float8',
  boolean: 'true',
  date: "'2024-02-29'::date",
  timestamp: "'2024-01-02 03:04:05.123+00'::timestamptz",
  json: `'{"a": [1, "x"]}'::jsonb`,
  bytes: "'\\x0001ff'::bytea",
  'integer array': 'ARRAY[1, 2]::int8[]',
  null: 'NULL',
};

runContract(
  {
    name: 'postgres',
    setup: async () => {
      admin = await pgAdmin(server.url);
    },
    teardown: async () => admin?.close(),
    create: (own = {}) => postgresSource({ url: server.url, max: 4, ...own }),
    createSingle: () => postgresSource({ url: server.url, max: 1 }),
    child: () => ({ file: 'src/sources/postgres/connector.ts', factory: 'postgresSource', options: { url: server.url } }),
    value: (type) => (VALUES[type] === undefined ? undefined : sql(`SELECT ${VALUES[type]} AS v`)),
    // A set-returning function in the select list is evaluated row by row, so a huge count costs nothing up front.
    rows: (count, marker) => sql(`SELECT generate_series(1, $1::int) AS n, repeat('x', 40) AS s /* ${marker} */`, [count]),
    numbersIn: (list) => sql('SELECT n FROM generate_series(1, 100) AS n WHERE n = ANY($1) ORDER BY n', [list]),
    echo: (text) => sql('SELECT $1::text AS v', [text]),
    slow: (marker) => sql(`SELECT pg_sleep(30) /* ${marker} */`),
    openOnServer: async (marker) => {
      const [row] = await admin!.exec(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1 AND state <> 'idle' AND pid <> pg_backend_pid()`,
        [`%${marker}%`],
      );
      return Number(row?.n);
    },
    invalid: [sql('SELEC 1'), sql(`SELECT * FROM ${uniqueName('missing')}`)],
    unreachable: () => postgresSource({ host: '127.0.0.1', port: 1, user: 'nobody', connectionTimeoutMillis: 2000 }),
    streams: true,
    bytes: 'estimate',
  },
  { skip: server.skipReason },
);
