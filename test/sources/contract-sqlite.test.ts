import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqliteSource, type SqlQuery } from '../../src/sources/index.js';
import { runContract, type Call, type PolicyType } from './contract.js';

const dir = mkdtempSync(join(tmpdir(), 'tributary-contract-'));
const file = join(dir, 'contract.db');

const sql = (text: string, params: unknown[] = []): Call<SqlQuery> => ({ query: { sql: text }, params });
const upTo = (limit: string) => `WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < ${limit})`;

// SQLite's own types: integers (64-bit), reals, blobs, NULL. Dates, decimals, booleans and JSON are the app's text or numbers.
const VALUES: Partial<Record<PolicyType, string>> = {
  integer: '42',
  'big integer': '9007199254740993',
  double: '1.5',
  bytes: "X'0001FF'",
  null: 'NULL',
};

runContract({
  name: 'sqlite',
  teardown: async () => rmSync(dir, { recursive: true, force: true }),
  create: (own = {}) => sqliteSource({ file, ...own }),
  value: (type) => (VALUES[type] === undefined ? undefined : sql(`SELECT ${VALUES[type]} AS v`)),
  rows: (count, marker) => sql(`${upTo('?')} SELECT n, '${'x'.repeat(40)}' AS s FROM c /* ${marker} */`, [count]),
  numbersIn: (list) => sql(`${upTo('100')} SELECT n FROM c WHERE n IN (SELECT value FROM json_each(?)) ORDER BY n`, [list]),
  echo: (text) => sql('SELECT ? AS v', [text]),
  invalid: [sql('SELEC 1'), sql('SELECT * FROM missing_table')],
  streams: true,
  bytes: 'estimate',
});
