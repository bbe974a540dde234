import { afterAll, expect, it } from 'vitest';
import { createExecutor, mysqlSource, postgresSource, type Executor, type Row } from '../../src/index.js';
import { describeWithServer, requireServer } from '../support/servers.js';

const pg = await requireServer('postgres');
const my = await requireServer('mysql');

/*
 * A plan's SQL names its columns, so a column named `__proto__` or `constructor` is untrusted
 * input. pg builds each row by assignment, over a prebuilt object whose own `__proto__` key
 * keeps the assignment a plain write; mysql2 refuses such a name outright. Either way no row
 * gets another prototype and Object.prototype stays clean — held here through the whole
 * result, the streamed one (pg-cursor batches), and a join and aggregate over those columns.
 */
const PG_SQL = 'SELECT g AS id, (g % 2)::int AS "__proto__", \'c\' || g AS "constructor", g * 10 AS "toString" FROM generate_series(1, 5) AS g';

function ownColumns(rows: readonly Row[]): void {
  for (const row of rows) {
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(Object.hasOwn(row, '__proto__')).toBe(true);
    expect(typeof row.constructor).toBe('string');
  }
  expect(({} as Record<string, unknown>).c1).toBeUndefined();
}

describeWithServer(pg, 'postgresSource: columns named __proto__, constructor, toString', () => {
  const executor: Executor = createExecutor({ sources: { db: postgresSource({ url: pg.url, streamBatchSize: 2 }) }, cache: false });
  afterAll(() => executor.close());
  const one = { fragments: [{ id: 'f', source: 'db', query: { sql: PG_SQL } }] };

  it('are own columns of every row, whole and streamed', async () => {
    const result = await executor.execute(one);
    expect(result.columns).toEqual(['id', '__proto__', 'constructor', 'toString']);
    expect(result.rows.map((r) => [r.id, Object.getOwnPropertyDescriptor(r, '__proto__')?.value, r.constructor, r.toString])).toEqual([1, 2, 3, 4, 5].map((g) => [g, g % 2, `c${g}`, g * 10]));
    ownColumns(result.rows);
    const streamed: Row[] = [];
    for await (const batch of executor.run(one).rows(2)) streamed.push(...batch);
    expect(streamed).toEqual(result.rows);
    ownColumns(streamed);
  });

  it('join and group on them as on any column (oracle: the same query as one statement)', async () => {
    const plan = {
      fragments: [
        { id: 'l', source: 'db', query: { sql: PG_SQL } },
        { id: 'r', source: 'db', query: { sql: PG_SQL } },
      ],
      merge: {
        op: 'sort',
        by: [{ column: '__proto__' }],
        input: { op: 'aggregate', input: { op: 'join', type: 'inner', left: 'l', right: 'r', on: [['__proto__', '__proto__']] }, groupBy: ['__proto__'], aggregates: [{ fn: 'count', as: 'constructor' }, { fn: 'sum', column: 'toString', as: 'prototype' }] },
      },
    };
    const oracle = await executor.execute({
      fragments: [{ id: 'o', source: 'db', query: { sql: `WITH t AS (${PG_SQL}) SELECT l."__proto__", count(*)::int AS "constructor", sum(l."toString")::int AS "prototype" FROM t l JOIN t r ON l."__proto__" = r."__proto__" GROUP BY l."__proto__" ORDER BY 1` } }],
    });
    const result = await executor.execute(plan);
    expect(result.rows).toEqual(oracle.rows);
    expect(result.rows).toHaveLength(2);
    for (const row of result.rows) {
      expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
      expect(Object.keys(row)).toEqual(['__proto__', 'constructor', 'prototype']);
    }
  });
});

describeWithServer(my, 'mysqlSource: a column named __proto__', () => {
  const executor: Executor = createExecutor({ sources: { db: mysqlSource({ url: my.url, maxConcurrency: 1 }) }, cache: false, retry: { attempts: 3, initialDelayMs: 1 } });
  afterAll(() => executor.close());
  const plan = (sql: string) => ({ fragments: [{ id: 'f', source: 'db', query: { sql } }] });

  it('fails its fragment, not retried, whole or streamed; the pool serves the next statement', async () => {
    const refused = await executor.execute(plan('SELECT 1 AS `__proto__`, 2 AS b'));
    expect(refused.status).toBe('failed');
    expect(refused.errors).toEqual([expect.objectContaining({ code: 'FRAGMENT_FAILED', retryable: false, attempt: 1, message: expect.stringContaining('(__proto__)') })]);
    await expect(async () => {
      for await (const batch of executor.run(plan('SELECT 1 AS `__proto__`')).rows()) void batch;
    }).rejects.toMatchObject({ code: 'FRAGMENT_FAILED' });
    expect(({} as Record<string, unknown>).b).toBeUndefined();
    const next = await executor.execute(plan('SELECT 2 AS `constructor`, 3 AS `toString`'));
    expect(next.rows).toEqual([{ constructor: 2, toString: 3 }]);
    expect(Object.getPrototypeOf(next.rows[0])).toBe(Object.prototype);
  });
});
