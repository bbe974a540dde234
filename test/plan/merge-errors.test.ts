import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, isTributaryError, memorySource, validatePlan, type TributaryError } from '../../src/index.js';
import { flattenIssues } from '../../src/zod-issues.js';

/**
 * A merge node is a fragment id or an operator object, a predicate one of eleven shapes: zod
 * reports a mistake inside either as one `Invalid input` at the union. These tests hold the
 * paths and messages a user gets for the mistakes they make.
 */
const fragments = [
  { id: 'f', source: 'm', query: { table: 't' } },
  { id: 'g', source: 'm', query: { table: 't' } },
];
const sources = { m: memorySource({ tables: { t: [{ a: 1 }] } }) };

function issuesOf(merge: unknown): TributaryError['issues'] {
  try {
    validatePlan({ id: 'p', fragments, merge }, { sources: new Map(Object.entries(sources)) });
  } catch (error) {
    expect(isTributaryError(error) && error.code).toBe('PLAN_INVALID');
    return (error as TributaryError).issues;
  }
  throw new Error('expected the merge to be rejected');
}

describe('mistakes inside a merge tree are reported where they are', () => {
  it.each([
    ['an unknown operator', { op: 'joinn', left: 'f', right: 'g', on: [['a', 'a']] }, 'merge.op', /Expected 'union' \| 'join'/],
    ['an object without op', { fragment: 'f' }, 'merge.op', /Expected 'union'/],
    ['an unknown join type', { op: 'join', type: 'outer', left: 'f', right: 'g', on: [['a', 'a']] }, 'merge.type', /"inner"\|"left"\|"semi"\|"anti"/],
    ['a nest without as', { op: 'nest', parent: 'f', child: 'g', on: [['a', 'a']] }, 'merge.as', /expected string, received undefined/],
    ['an unknown aggregate', { op: 'aggregate', input: 'f', aggregates: [{ fn: 'median', column: 'a', as: 'm' }] }, 'merge.aggregates[0].fn', /"count"\|"sum"/],
    ['a number for a node', 42, 'merge', /expected string or object, received number/],
    ['a number among project columns', { op: 'project', input: 'f', columns: ['a', 5] }, 'merge.columns[1]', /expected string or object, received number/],
    ['an unknown key of a renamed column', { op: 'project', input: 'f', columns: [{ column: 'a', as: 'b', extra: 1 }] }, 'merge.columns[0].extra', /unknown key "extra"/],
  ])('%s', (_, merge, path, message) => {
    const issues = issuesOf(merge);
    expect(issues.map((i) => i.path)).toContain(path);
    expect(issues.find((i) => i.path === path)!.message).toMatch(message);
  });

  it('a missing join condition and an unknown type are both listed', () => {
    expect(issuesOf({ op: 'join', left: 'f', right: 'g' }).map((i) => i.path)).toEqual(['merge.type', 'merge.on']);
  });

  it('a deep mistake keeps its whole path', () => {
    const merge = { op: 'union', inputs: ['f', { op: 'filter', input: 'g', where: { and: [{ eq: ['a', 1] }, { gt: ['a'] }] } }] };
    expect(issuesOf(merge)).toEqual([{ path: 'merge.inputs[1].where.and[1].gt', message: expect.stringMatching(/>=2 items/) as unknown }]);
  });

  it('an unknown predicate names the ones there are', () => {
    const [issue] = issuesOf({ op: 'filter', input: 'f', where: { not: { like: ['a', 'x%'] } } });
    expect(issue!.path).toBe('merge.where.not');
    expect(issue!.message).toBe('unknown key "like"; expected one of "eq", "ne", "lt", "le", "gt", "ge", "in", "isNull", "and", "or", "not"');
  });

  it('a value that is neither a scalar nor a reference says what a reference is', () => {
    const [issue] = issuesOf({ op: 'filter', input: 'f', where: { eq: ['a', { from: 'f' }] } });
    expect(issue).toEqual({ path: 'merge.where.eq[1]', message: 'unknown key "from"; expected one of "$from" + "column", "$param"' });
    expect(issuesOf({ op: 'filter', input: 'f', where: { in: ['a', 5] } })).toEqual([
      { path: 'merge.where.in[1]', message: 'Invalid input: expected array or object, received number' },
    ]);
  });

  it('run() throws the same issues, and the message names the first of them', () => {
    const executor = createExecutor({ sources });
    try {
      executor.run({ id: 'p', fragments, merge: { op: 'sort', input: 'f', by: [{ col: 'a' }] } });
      expect.unreachable('the plan should be rejected');
    } catch (error) {
      const e = error as TributaryError;
      expect(e.message).toContain('merge.by[0].column');
      expect(e.issues.map((i) => i.path)).toEqual(['merge.by[0].column', 'merge.by[0].col']);
    }
  });
});

describe('merge mistakes found before anything runs', () => {
  it('an aggregate other than count without a column', () => {
    expect(issuesOf({ op: 'aggregate', input: 'f', aggregates: [{ fn: 'count', as: 'n' }, { fn: 'sum', as: 's' }] })).toEqual([
      { path: 'merge.aggregates[1].column', message: 'sum needs a column' },
    ]);
  });

  it('an output column named twice: an alias repeating a groupBy column or an alias, a project listing a name twice', () => {
    expect(issuesOf({ op: 'aggregate', input: 'f', groupBy: ['a'], aggregates: [{ fn: 'count', as: 'a' }] })).toEqual([
      { path: 'merge.aggregates[0].as', message: 'output column "a" appears twice' },
    ]);
    const deep = { op: 'union', inputs: ['g', { op: 'project', input: 'f', columns: ['a', { column: 'b', as: 'a' }] }] };
    expect(issuesOf(deep)).toEqual([{ path: 'merge.inputs[1].columns[1]', message: 'output column "a" appears twice' }]);
  });

  it('a nest whose `as` the parent is known to have already, from a project, an aggregate or a nest under it', () => {
    const project = { op: 'project', input: 'f', columns: ['a', { column: 'b', as: 'kids' }] };
    expect(issuesOf({ op: 'nest', parent: project, child: 'g', on: [['a', 'a']], as: 'kids' })).toEqual([
      { path: 'merge.as', message: 'the parent already has a column "kids"; nest the child rows under another name' },
    ]);
    // Through filter, sort, limit, a union (the column is in its output whatever the other inputs hold) and a nest.
    const through = { op: 'limit', n: 1, input: { op: 'union', inputs: ['g', { op: 'nest', parent: { op: 'aggregate', input: 'f', groupBy: ['a'], aggregates: [{ fn: 'count', as: 'n' }] }, child: 'g', on: [['a', 'a']], as: 'kids' }] } };
    expect(issuesOf({ op: 'nest', parent: through, child: 'g', on: [['a', 'a']], as: 'n' }).map((i) => i.path)).toEqual(['merge.as']);
    expect(issuesOf({ op: 'nest', parent: through, child: 'g', on: [['a', 'a']], as: 'kids' }).map((i) => i.path)).toEqual(['merge.as']);
    // A semi join keeps its left columns; an inner join's are its left ones and its right ones.
    const semi = { op: 'join', type: 'semi', left: project, right: 'g', on: [['a', 'a']] };
    expect(issuesOf({ op: 'nest', parent: semi, child: 'g', on: [['a', 'a']], as: 'kids' }).map((i) => i.path)).toEqual(['merge.as']);
    const inner = { op: 'join', type: 'inner', left: 'g', right: project, on: [['a', 'a']] };
    expect(issuesOf({ op: 'nest', parent: inner, child: 'g', on: [['a', 'a']], as: 'kids' }).map((i) => i.path)).toEqual(['merge.as']);
  });

  it('a nest over a leaf, or an `as` no step under it names, is left to the run', () => {
    expect(() => validatePlan({ id: 'p', fragments, merge: { op: 'nest', parent: 'f', child: 'g', on: [['a', 'a']], as: 'a' } }, { sources: new Map(Object.entries(sources)) })).not.toThrow();
    const project = { op: 'project', input: 'f', columns: ['a'] };
    expect(() => validatePlan({ id: 'p', fragments, merge: { op: 'nest', parent: project, child: 'g', on: [['a', 'a']], as: 'kids' } }, { sources: new Map(Object.entries(sources)) })).not.toThrow();
    // An inner join's right column that a left leaf may also have may be renamed: not a known clash.
    const inner = { op: 'join', type: 'inner', left: 'g', right: { op: 'project', input: 'f', columns: ['a', 'b'] }, on: [['a', 'a']] };
    expect(() => validatePlan({ id: 'p', fragments, merge: { op: 'nest', parent: inner, child: 'g', on: [['a', 'a']], as: 'kids' } }, { sources: new Map(Object.entries(sources)) })).not.toThrow();
  });

  it('such a plan runs nothing', async () => {
    let calls = 0;
    const counting = memorySource({ tables: { t: [{ a: 1 }] } });
    const executor = createExecutor({ sources: { m: { ...counting, execute: (q, ctx) => (calls++, counting.execute(q, ctx)) } } });
    expect(() => executor.run({ fragments, merge: { op: 'aggregate', input: 'f', aggregates: [{ fn: 'avg', as: 'x' }] } })).toThrow(/avg needs a column/);
    expect(calls).toBe(0);
    await executor.close();
  });
});

describe('flattenIssues', () => {
  it('keeps issues outside unions as zod gives them, paths included', () => {
    const r = z.object({ a: z.number(), b: z.array(z.string()) }).safeParse({ a: 'x', b: [1] });
    expect(flattenIssues(r.error!.issues)).toEqual(r.error!.issues.map((i) => ({ path: i.path, message: i.message })));
  });

  it('picks the alternative with the fewest problems when several fit the shape', () => {
    const schema = z.union([z.strictObject({ a: z.string(), b: z.string() }), z.strictObject({ a: z.string() })]);
    const r = schema.safeParse({ a: 1 });
    expect(flattenIssues(r.error!.issues)).toEqual([{ path: ['a'], message: 'Invalid input: expected string, received number' }]);
  });

  it('prefixes a base path', () => {
    const r = z.union([z.string(), z.strictObject({ x: z.number() })]).safeParse({ x: 'no' });
    expect(flattenIssues(r.error!.issues, ['options', 'y'])).toEqual([{ path: ['options', 'y', 'x'], message: 'Invalid input: expected number, received string' }]);
  });
});

describe('connector and executor options go through the same reading', () => {
  it('an executor option given the wrong shape is reported at its own field', () => {
    try {
      createExecutor({ sources, cache: { maxEntries: 'many' } } as never);
      expect.unreachable('the options should be rejected');
    } catch (error) {
      expect(isTributaryError(error) && error.code).toBe('CONFIG_INVALID');
      expect((error as TributaryError).issues.map((i) => i.path)).toContain('cache.maxEntries');
    }
  });
});
