import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, postgresSource, type Executor } from '../../src/index.js';
import { describeWithServer, requireServer } from '../support/servers.js';

/**
 * A boxed primitive bound into PostgreSQL: pg sends an object as its JSON, so
 * `new Number(2)` binds `2`. Two runs binding different boxed values must not share a
 * cache entry (their keys once encoded every boxed number alike, as an object with no keys).
 */

const server = await requireServer('postgres');

describeWithServer(server, 'boxed primitives as run params, against PostgreSQL', () => {
  let executor: Executor;
  let uncached: Executor;
  beforeAll(() => {
    executor = createExecutor({ sources: { pg: postgresSource({ url: server.url }) } });
    uncached = createExecutor({ sources: { pg: postgresSource({ url: server.url }) }, cache: false });
  });
  afterAll(async () => {
    await executor.close();
    await uncached.close();
  });

  it('each boxed value gets the rows of its own statement, never another one\'s cached entry', async () => {
    const plan = { id: 'boxed', fragments: [{ id: 'f', source: 'pg', query: { sql: 'SELECT $1::text AS v', params: [{ $param: 'v' }] } }] };
    const values = [new Number(1), new Number(2), new Boolean(true), new Boolean(false), new String('a'), new String('b')];
    const seen: unknown[] = [];
    const oracle: unknown[] = [];
    for (const v of values) {
      seen.push((await executor.execute(plan, { params: { v } })).rows[0]!.v);
      oracle.push((await uncached.execute(plan, { params: { v } })).rows[0]!.v);
    }
    // What pg binds: the JSON of each (a boxed string is a JSON string, quotes included).
    expect(oracle).toEqual(['1', '2', 'true', 'false', '"a"', '"b"']);
    expect(seen).toEqual(oracle);
    // The same boxed value again is a hit.
    expect((await executor.execute(plan, { params: { v: new Number(2) } })).fragments.f!.cached).toBe(true);
  });
});
