/**
 * A real federated query: customers in SQLite, orders in PostgreSQL, products in MariaDB,
 * exchange rates from an HTTP JSON server this example starts. A batched bind join, hash
 * joins, an aggregate and a sort. `npm run example:federated`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createExecutor, httpSource, mysqlSource, postgresSource, sqliteSource } from '../src/index.js';
import { federatedData, federatedPlan, mysqlUrl, pgUrl, ratesServer, seed, tableNames } from './federated-setup.js';

const dir = mkdtempSync(join(tmpdir(), 'tributary-federated-'));
const data = federatedData();
const tables = tableNames();
let seeded: Awaited<ReturnType<typeof seed>>;
try {
  seeded = await seed(data, tables, dir);
} catch (error) {
  const { code, message } = error as { code?: string; message: string };
  console.error(`The federated example needs PostgreSQL at ${pgUrl.replace(/:[^:@/]*@/, ':***@')} and MariaDB/MySQL at ${mysqlUrl.replace(/:[^:@/]*@/, ':***@')}`);
  console.error(`(override with TRIBUTARY_PG_URL / TRIBUTARY_MYSQL_URL): ${code ?? ''} ${message}`);
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
}
const rates = await ratesServer(data.rates);

const executor = createExecutor({
  sources: {
    crm: sqliteSource({ file: seeded.sqliteFile, readonly: true }),
    shop: postgresSource({ url: pgUrl, maxConcurrency: 4 }),
    catalog: mysqlSource({ url: mysqlUrl, maxConcurrency: 4 }),
    fx: httpSource({ baseUrl: rates.baseUrl }),
  },
});

try {
  const run = executor.run(federatedPlan(tables));
  run.events$.subscribe((e) => {
    if (e.type === 'fragment.succeeded') console.log(`  ✓ ${e.fragmentId.padEnd(9)} (${e.source}) ${String(e.rowCount).padStart(5)} rows in ${e.calls} call(s)`);
    if (e.type === 'fragment.failed') console.log(`  ✗ ${e.fragmentId} (${e.source}): ${e.error.message}`);
  });
  const result = await run.result;
  console.log(`\n${result.queryId}: ${result.status} in ${result.stats.durationMs.toFixed(0)} ms\n`);
  console.table(result.rows);
  process.exitCode = result.status === 'ok' ? 0 : 1;
} finally {
  await executor.close();
  await rates.close();
  await seeded.drop();
  rmSync(dir, { recursive: true, force: true });
}
