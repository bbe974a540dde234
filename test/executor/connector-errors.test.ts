import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, mysqlSource, postgresSource, type Executor } from '../../src/index.js';
import { describeWithServer, mysqlUrl, pgUrl, requireServer } from '../support/servers.js';

/**
 * A connector's error reaches the caller with one prefix — the fragment, the name the source
 * was registered under, the attempt — followed by the server's own words and code.
 */

const pgCheck = await requireServer('postgres');
const myCheck = await requireServer('mysql');

describeWithServer(pgCheck.skipReason ? pgCheck : myCheck, 'connector errors name the registered source once', () => {
  let executor: Executor;

  beforeAll(() => {
    executor = createExecutor({
      sources: {
        catalog: mysqlSource({ url: mysqlUrl() }),
        shop: postgresSource({ url: pgUrl() }),
        down: postgresSource({ url: 'postgres://postgres@127.0.0.1:1/test', connectionTimeoutMillis: 1000 }),
      },
      retry: { attempts: 1 },
    });
  });
  afterAll(() => executor?.close());

  it.each([
    ['catalog', 'SELECT * FROM no_such_table_14', 'FRAGMENT_FAILED', /^fragment "f" on source "catalog" failed \(attempt 1\): MariaDB\/MySQL error 1146: Table '[^']*no_such_table_14' doesn't exist$/],
    ['shop', 'SELECT * FROM no_such_table_14', 'FRAGMENT_FAILED', /^fragment "f" on source "shop" failed \(attempt 1\): PostgreSQL error 42P01: relation "no_such_table_14" does not exist$/],
    ['down', 'SELECT 1', 'SOURCE_UNAVAILABLE', /^fragment "f" on source "down" failed \(attempt 1\): PostgreSQL unavailable: .*ECONNREFUSED/],
  ])('%s: %s', async (source, sql, code, message) => {
    const result = await executor.execute({ fragments: [{ id: 'f', source, query: { sql } }] });
    expect(result.status).toBe('failed');
    expect(result.errors).toHaveLength(1);
    const [error] = result.errors;
    expect(error?.code).toBe(code);
    expect(error?.message).toMatch(message);
    // The kind is never passed off as the source's name, and no prefix repeats.
    expect(error?.message).not.toMatch(/source (mysql|postgres)\b/);
    expect(error?.message.match(/fragment/g)).toHaveLength(1);
  });
});
