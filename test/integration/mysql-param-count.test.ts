import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, type Executor } from '../../src/index.js';
import { mysqlSource } from '../../src/sources/mysql/connector.js';
import { describeWithServer, requireServer } from '../support/servers.js';

// A statement given more (or fewer) params than its `?` placeholders is refused, as
// PostgreSQL and SQLite refuse it — MariaDB itself ignores extra values of a prepared
// statement, and a surplus once bound garbage (`SELECT ? AS a` with [1, 2] answered 2.5e-323).

const server = await requireServer('mysql');

describeWithServer(server, 'mysqlSource: params that do not match the placeholders', () => {
  let executor: Executor;
  beforeAll(() => {
    executor = createExecutor({ sources: { my: mysqlSource({ url: server.url, name: 'my' }) }, retry: { attempts: 1 }, cache: false });
  });
  afterAll(async () => {
    await executor.close();
  });

  const one = (sql: string, params: unknown[]) => ({ id: 'p', fragments: [{ id: 'f', source: 'my', query: { sql, params } }] });

  it.each([
    ['SELECT 1 AS a', [5], 0],
    ['SELECT ? AS a', [1, 2], 1],
    ['SELECT ? AS a', [], 1],
    ["SELECT '?' AS q, ? AS a -- ?\n", [1, 2], 1],
  ])('%s with %j fails, naming both counts', async (sql, params, marks) => {
    const result = await executor.execute(one(sql, params));
    expect(result.status).toBe('failed');
    expect(result.rows).toEqual([]);
    expect(result.errors[0]).toMatchObject({ code: 'FRAGMENT_FAILED', retryable: false });
    expect(result.errors[0]!.message).toContain(`the SQL has ${marks} ? placeholders but ${params.length} params were given`);
    expect(result.fragments.f!.calls).toBe(1);
  });

  it('streams refuse it too', async () => {
    const run = executor.run(one('SELECT 1 AS a', [5]));
    const seen: unknown[] = [];
    await expect((async () => { for await (const rows of run.rows()) seen.push(...rows); })()).rejects.toThrow(/0 \? placeholders but 1 params/);
    expect(seen).toEqual([]);
  });

  it('a matching count still runs, quoted and commented ? included', async () => {
    const result = await executor.execute(one("SELECT '?' AS q, ? AS a /* ? */", [7]));
    expect(result.rows).toEqual([{ q: '?', a: 7 }]);
  });
});
