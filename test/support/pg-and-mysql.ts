import { afterAll, beforeAll } from 'vitest';
import { createExecutor, mysqlSource, postgresSource, type Executor } from '../../src/index.js';
import { mysqlAdmin, mysqlUrl, pgAdmin, pgUrl, scratchTables, type Admin } from './servers.js';

/** What `pgAndMysql` opens: both servers' admins, scratch table names on each, and an executor over both. */
export interface PgAndMysql {
  readonly pg: Admin;
  readonly my: Admin;
  /** A unique table name on PostgreSQL (or MariaDB), dropped after the file's tests. */
  pgTable(prefix: string): string;
  myTable(prefix: string): string;
  /** Sources `pg` and `my` on the test servers, no cache. */
  readonly executor: Executor;
}

/**
 * Opens, before the tests of the describe block it is called in, an admin connection to the
 * test PostgreSQL and MariaDB servers and an executor over both (`pg`, `my`); after them,
 * closes the executor and drops the tables named by `pgTable` / `myTable`. A `beforeAll`
 * registered after this call runs after it (to create the tables).
 */
export function pgAndMysql(): PgAndMysql {
  let pg: Admin | undefined;
  let my: Admin | undefined;
  let executor: Executor | undefined;
  let pgTables: ReturnType<typeof scratchTables> | undefined;
  let myTables: ReturnType<typeof scratchTables> | undefined;
  const opened = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('pgAndMysql: used before its beforeAll ran');
    return value;
  };
  beforeAll(async () => {
    pg = await pgAdmin();
    my = await mysqlAdmin();
    pgTables = scratchTables(pg);
    myTables = scratchTables(my);
    executor = createExecutor({ sources: { pg: postgresSource({ url: pgUrl() }), my: mysqlSource({ url: mysqlUrl() }) }, cache: false });
  });
  afterAll(async () => {
    await executor?.close();
    await pgTables?.dropAll();
    await myTables?.dropAll();
  });
  return {
    get pg() {
      return opened(pg);
    },
    get my() {
      return opened(my);
    },
    pgTable: (prefix) => opened(pgTables).name(prefix),
    myTable: (prefix) => opened(myTables).name(prefix),
    get executor() {
      return opened(executor);
    },
  };
}
