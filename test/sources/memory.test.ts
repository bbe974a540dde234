import { describe, expect, it } from 'vitest';
import { createExecutor, memorySource, TributaryError, type ExecuteContext, type MemoryQuery, type Row } from '../../src/index.js';
import { columnsOf } from '../../src/data/columns.js';

const people: Row[] = [
  { id: 1, name: 'Ann', age: 31, city: 'Oslo' },
  { id: 2, name: 'Bob', age: null, city: 'Rome' },
  { id: 3, name: 'Cy', age: 45, city: 'Oslo' },
  { id: 4, name: 'Di', age: 27 },
];
// Frozen, so any attempt by the source to change a row throws.
for (const row of people) Object.freeze(row);
Object.freeze(people);

const source = memorySource({ tables: { people }, version: '7' });
const ctx = (over: Partial<ExecuteContext> = {}): ExecuteContext => ({ params: [], signal: new AbortController().signal, ...over });
const run = (query: unknown, context = ctx()) => source.execute(source.querySchema.parse(query), context) as Promise<Row[]>;

describe('memorySource', () => {
  it('scans a whole table', async () => {
    expect(await run({ table: 'people' })).toEqual(people);
  });

  it('filters with a predicate under SQL null semantics', async () => {
    expect((await run({ table: 'people', where: { gt: ['age', 30] } })).map((r) => r.id)).toEqual([1, 3]);
    expect((await run({ table: 'people', where: { not: { gt: ['age', 30] } } })).map((r) => r.id)).toEqual([4]);
    expect((await run({ table: 'people', where: { isNull: 'age' } })).map((r) => r.id)).toEqual([2]);
    expect((await run({ table: 'people', where: { and: [{ eq: ['city', 'Oslo'] }, { lt: ['age', 40] }] } })).map((r) => r.id)).toEqual([1]);
    expect((await run({ table: 'people', where: { in: ['id', [4, 2, 9]] } })).map((r) => r.id)).toEqual([2, 4]);
  });

  it('refuses a where over a column no row of the table has, as SQL refuses it, with its path', async () => {
    const error = await run({ table: 'people', where: { and: [{ eq: ['city', 'Oslo'] }, { gt: ['agee', 30] }] } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TributaryError);
    expect(error).toMatchObject({ code: 'FRAGMENT_FAILED', retryable: false });
    expect((error as TributaryError).issues?.map((i) => i.path)).toEqual(['query.where.and[1].gt[0]']);
    expect((error as TributaryError).message).toMatch(/column "agee" is not in the table \(its columns: "id", "name", "age", "city"\)/);
    // A column only some rows have is the table's, and an empty table names none to check.
    expect((await run({ table: 'people', where: { isNull: 'city' } })).map((r) => r.id)).toEqual([4]);
    const empty = memorySource({ tables: { none: [] } });
    expect(await empty.execute(empty.querySchema.parse({ table: 'none', where: { eq: ['x', 1] } }), ctx())).toEqual([]);
  });

  it('names its columns: the projected ones, else the table\'s, with rows or without', async () => {
    expect(columnsOf(await run({ table: 'people', where: { eq: ['id', 1] } }))).toEqual(['id', 'name', 'age', 'city']);
    expect(columnsOf(await run({ table: 'people', where: { eq: ['id', 99] } }))).toEqual(['id', 'name', 'age', 'city']);
    expect(columnsOf(await run({ table: 'people', columns: ['city', 'id'] }))).toEqual(['city', 'id']);
  });

  it('an empty table names no columns (they are unknown, not none), so merge steps over it are not refused', async () => {
    const empty = memorySource({ tables: { none: [] } });
    expect(columnsOf((await empty.execute(empty.querySchema.parse({ table: 'none' }), ctx()) as Row[]))).toBeUndefined();
    expect(columnsOf((await empty.execute(empty.querySchema.parse({ table: 'none', columns: ['id'] }), ctx()) as Row[]))).toEqual(['id']);
    // Customers left-joined to orders while the orders table is still empty: every customer, no failure.
    const executor = createExecutor({ sources: { m: memorySource({ tables: { customers: [{ id: 1 }], orders: [] } }) } });
    try {
      const fragments = [
        { id: 'customers', source: 'm', query: { table: 'customers' } },
        { id: 'orders', source: 'm', query: { table: 'orders' } },
      ];
      for (const merge of [
        { op: 'join', type: 'left', left: 'customers', right: 'orders', on: [['id', 'customer_id']] },
        { op: 'nest', parent: 'customers', child: 'orders', on: [['id', 'customer_id']], as: 'orders' },
        { op: 'aggregate', input: 'orders', aggregates: [{ fn: 'sum', column: 'total', as: 'spent' }] },
        { op: 'sort', input: 'orders', by: [{ column: 'total' }] },
      ]) {
        const result = await executor.execute({ id: 'empty-orders', fragments, merge });
        expect({ op: merge.op, status: result.status, errors: result.errors.map(String) }).toEqual({ op: merge.op, status: 'ok', errors: [] });
      }
    } finally {
      await executor.close();
    }
  });

  it('projects columns, a missing one as null', async () => {
    expect(await run({ table: 'people', columns: ['name', 'city'], where: { eq: ['id', 4] } })).toEqual([{ name: 'Di', city: null }]);
  });

  it('takes a bound list (a resolved $from) in an in predicate', async () => {
    const query = { table: 'people', where: { in: ['id', [3, 1]] } } as MemoryQuery;
    expect((await source.execute(query, ctx()) as Row[]).map((r) => r.name)).toEqual(['Ann', 'Cy']);
  });

  it('never changes the rows it was given', async () => {
    const out = await run({ table: 'people' });
    expect(out[0]).toBe(people[0]);
    expect(Object.isFrozen(people[0])).toBe(true);
  });

  it('rejects an unknown table with a non-retryable FRAGMENT_FAILED', async () => {
    const error = await run({ table: 'nope' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TributaryError);
    expect(error).toMatchObject({ code: 'FRAGMENT_FAILED', retryable: false });
    expect((error as Error).message).toContain('people');
  });

  it('rejects at once when the signal is already aborted', async () => {
    const reason = new Error('stop');
    await expect(run({ table: 'people' }, ctx({ signal: AbortSignal.abort(reason) }))).rejects.toBe(reason);
  });

  it('enforces the row limit with LIMIT_EXCEEDED', async () => {
    await expect(run({ table: 'people' }, ctx({ limits: { maxRows: 3 } }))).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(await run({ table: 'people' }, ctx({ limits: { maxRows: 4 } }))).toHaveLength(4);
  });

  it('declares its query schema, version and options', async () => {
    expect(source.kind).toBe('memory');
    expect(source.querySchema.safeParse({ table: 'people', order: 'id' }).success).toBe(false);
    expect(source.querySchema.safeParse({ table: '' }).success).toBe(false);
    expect(source.version?.()).toBe('memory:7');
    expect(memorySource({ tables: {}, maxConcurrency: 2, cacheScope: 'shared' })).toMatchObject({ maxConcurrency: 2, cacheScope: 'shared' });
    await expect(source.close?.()).resolves.toBeUndefined();
  });

  it('reads its tables at each call: rows an app pushes are seen once the cache no longer answers for the source', async () => {
    const t: Row[] = [{ id: 1 }];
    const executor = createExecutor({ sources: { ref: memorySource({ tables: { t } }) } });
    const plan = { fragments: [{ id: 'a', source: 'ref', query: { table: 't' } }] };
    try {
      expect((await executor.execute(plan)).rows).toEqual([{ id: 1 }]);
      t.push({ id: 2 });
      const cached = await executor.execute(plan);
      expect(cached.rows).toEqual([{ id: 1 }]);
      expect(cached.stats.cacheHits).toBe(1);
      await executor.cache.invalidate({ source: 'ref' });
      expect((await executor.execute(plan)).rows).toEqual([{ id: 1 }, { id: 2 }]);
    } finally {
      await executor.close();
    }
  });
});
