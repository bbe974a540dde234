import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, isTributaryError, memorySource, type Executor } from '../../src/index.js';

/**
 * Engine bugs the fuzzer found, each reduced to its smallest reproduction and written as
 * the behaviour we want; kept as regression tests now that they are fixed.
 */

const rows = [{ id: 1 }, { id: 2 }];
const executors: Executor[] = [];
const executor = (): Executor => {
  const created = createExecutor({ cache: false, sources: { mem: memorySource({ tables: { t: rows } }) } });
  executors.push(created);
  return created;
};

afterEach(async () => {
  await Promise.all(executors.splice(0).map((e) => e.close()));
});

describe('engine bugs found by fuzzing, fixed', () => {
  // src/sources/memory.ts project(): `row[c] ?? null` reads inherited members.
  it('memory source: a projected column the row lacks is null, even when named like an Object.prototype member', async () => {
    const result = await executor().execute({ fragments: [{ id: 'a', source: 'mem', query: { table: 't', columns: ['id', 'constructor'] } }] });
    expect(result.rows).toEqual([{ id: 1, constructor: null }, { id: 2, constructor: null }]);
  });

  // src/execution/bind.ts distinctValues(): `row[column]` binds Object.prototype.constructor.
  it('bind join: a $from column no upstream row has binds no values, so the fragment makes no call', async () => {
    const result = await executor().execute({
      fragments: [
        { id: 'a', source: 'mem', query: { table: 't' } },
        { id: 'b', source: 'mem', dependsOn: ['a'], query: { table: 't', where: { not: { in: ['id', { $from: 'a', column: 'constructor' }] } } } },
      ],
      merge: 'b',
    });
    // With the column 'nope' instead, the list is empty and `b` yields no rows.
    expect(result.rows).toEqual([]);
  });

  // src/merge/project.ts: a union over a fragment that ran no query (empty bound list) had
  // only the other inputs' columns, and their rows made project check against them.
  it('project over a union or join with a bind-joined fragment whose upstream was empty pads its columns with null', async () => {
    const fragments = [
      { id: 'none', source: 'mem', query: { table: 't', where: { eq: ['id', 99] } } },
      { id: 'b', source: 'mem', dependsOn: ['none'], query: { table: 't', columns: ['id', 'k'], where: { in: ['id', { $from: 'none', column: 'id' }] } } },
      { id: 'all', source: 'mem', query: { table: 't' } },
    ];
    const overUnion = await executor().execute({ fragments, merge: { op: 'project', input: { op: 'union', inputs: ['b', 'all'] }, columns: ['id', 'k'] } });
    expect(overUnion.errors).toEqual([]);
    expect(overUnion.rows).toEqual([{ id: 1, k: null }, { id: 2, k: null }]);
    const overJoin = await executor().execute({ fragments, merge: { op: 'project', input: { op: 'join', type: 'left', left: 'all', right: 'b', on: [['id', 'id']] }, columns: ['id', 'k'] } });
    expect(overJoin.errors).toEqual([]);
    expect(overJoin.rows).toEqual([{ id: 1, k: null }, { id: 2, k: null }]);
  });

  // src/merge/relation.ts leafRelation(): reading an empty leaf's columns recorded them as
  // seen ([]), so the next step over the same result no longer took it as showing nothing.
  it('a project over a failed fragment (partial) reads its columns as null, after another step read that fragment too', async () => {
    const nest = { op: 'nest', parent: 'x', child: 'x', on: [['id', 'id']], as: 'n' };
    const result = await executor().execute({
      errorPolicy: 'partial',
      fragments: [{ id: 'x', source: 'mem', query: { table: 'missing' } }],
      merge: { op: 'union', inputs: [{ op: 'union', inputs: ['x'] }, { op: 'project', input: nest, columns: ['id'] }, { op: 'aggregate', input: 'x', aggregates: [{ fn: 'count', as: 'n' }] }] },
    });
    expect(result.errors.map((e) => e.code)).toEqual(['FRAGMENT_FAILED']);
    expect(result.status).toBe('partial');
    expect(result.rows).toEqual([{ id: null, n: 0 }]);
  });

  // src/plan/graph.ts checkRawShape(): `seen` is never cleared, so a DAG counts as a cycle.
  it('validation: one object used in two places of a plan is JSON, not a reference cycle', async () => {
    const retry = { attempts: 2 };
    const result = await executor().execute({
      fragments: [
        { id: 'a', source: 'mem', query: { table: 't' }, retry },
        { id: 'b', source: 'mem', query: { table: 't' }, retry },
      ],
      merge: { op: 'union', inputs: ['a', 'b'] },
    });
    expect(result.rows).toHaveLength(4);
  });

  // src/plan/graph.ts checkRawShape(): Object.values() runs getters outside any try.
  it('validation: a plan whose getter throws is rejected with a TributaryError', () => {
    const plan = { fragments: [{ id: 'a', source: 'mem', query: { table: 't' } }] };
    Object.defineProperty(plan, 'merge', { enumerable: true, get: () => { throw new Error('getter'); } });
    let error: unknown;
    try {
      executor().validate(plan);
    } catch (e) {
      error = e;
    }
    expect(isTributaryError(error, 'PLAN_INVALID')).toBe(true);
  });
});
