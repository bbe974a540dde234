import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { federatedData, federatedPlan, oracle, ratesServer, seed, tableNames } from '../../examples/federated-setup.js';
import { createExecutor, httpSource, mysqlSource, postgresSource, sqliteSource, type Executor } from '../../src/index.js';
import { describeWithServer, mysqlUrl, pgUrl, requireServer } from '../support/servers.js';

const pgCheck = await requireServer('postgres');
const myCheck = await requireServer('mysql');
const check = pgCheck.skipReason ? pgCheck : myCheck;

describeWithServer(check, 'the federated example (SQLite + PostgreSQL + MariaDB + HTTP)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-federated-test-'));
  const data = federatedData();
  const tables = tableNames();
  let seeded: Awaited<ReturnType<typeof seed>>;
  let rates: Awaited<ReturnType<typeof ratesServer>>;
  let executor: Executor;

  beforeAll(async () => {
    seeded = await seed(data, tables, dir);
    rates = await ratesServer(data.rates);
    executor = createExecutor({
      sources: {
        crm: sqliteSource({ file: seeded.sqliteFile, readonly: true }),
        shop: postgresSource({ url: pgUrl(), maxConcurrency: 4 }),
        catalog: mysqlSource({ url: mysqlUrl(), maxConcurrency: 4 }),
        fx: httpSource({ baseUrl: rates.baseUrl }),
      },
      cache: false,
    });
  });

  afterAll(async () => {
    await executor?.close();
    await rates?.close();
    await seeded?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('returns exactly the rows of the same query as one SQL statement over one database', async () => {
    const expected = oracle(data);
    expect(expected.length).toBeGreaterThan(5);
    const result = await executor.execute(federatedPlan(tables));
    expect(result.errors).toEqual([]);
    expect(result.status).toBe('ok');
    expect(result.rows).toEqual(expected);
    expect(result.columns).toEqual(['category', 'currency', 'units', 'orders', 'rate']);
  });

  it('batches the bind join into ceil(keys / size) calls, each one a fragment.started event', async () => {
    const run = executor.run(federatedPlan(tables));
    const started: number[] = [];
    run.events$.subscribe((e) => {
      if (e.type === 'fragment.started' && e.fragmentId === 'orders') started.push(e.batch.index);
    });
    const result = await run.result;
    const keys = data.customers.filter((c) => c.segment === 'BUILDING').length;
    expect(started.length).toBe(Math.ceil(keys / 25));
    expect(new Set(started).size).toBe(started.length);
    expect(result.fragments.orders!.calls).toBe(Math.ceil(keys / 25));
  });
});
