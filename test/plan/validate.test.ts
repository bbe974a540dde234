import { Decimal } from 'decimal.js';
import { describe, expect, it, vi } from 'vitest';
import { createExecutor, isTributaryError, memorySource, validatePlan, type SourceExecutor, type TributaryError } from '../../src/index.js';
import { testQuerySchema } from '../support/engine.js';

/** A source whose every call is recorded, so a test can prove nothing ran. */
function spySource(): SourceExecutor & { execute: ReturnType<typeof vi.fn> } {
  return { kind: 'spy', querySchema: testQuerySchema, execute: vi.fn(() => Promise.resolve([{ x: 1 }])) };
}

/** Runs `plan` through a fresh executor and returns the error it throws (failing if none). */
function rejectionOf(plan: unknown, limits?: Record<string, number>): { error: TributaryError; spy: ReturnType<typeof spySource> } {
  const spy = spySource();
  const executor = createExecutor({
    sources: { a: spy, mem: memorySource({ tables: { t: [{ x: 1 }] } }) },
    ...(limits ? { limits } : {}),
  });
  try {
    executor.run(plan);
  } catch (error) {
    expect(isTributaryError(error)).toBe(true);
    return { error: error as TributaryError, spy };
  }
  throw new Error('expected the plan to be rejected');
}

const q = (key: string, params?: unknown[]) => (params ? { key, params } : { key });
const paths = (error: TributaryError) => error.issues.map((i) => i.path);

describe('validatePlan', () => {
  it('fills in defaults and computes levels, levelOf and dependents', () => {
    const v = validatePlan({
      fragments: [
        { id: 'a', source: 'a', query: q('a') },
        { id: 'b', source: 'a', query: q('b'), dependsOn: ['a'] },
        { id: 'c', source: 'a', query: q('c'), dependsOn: ['a', 'b'] },
      ],
    });
    expect(v.errorPolicy).toBe('fail-fast');
    expect(v.schedule).toBe('levels');
    expect(v.id).toMatch(/^query-\d+$/);
    expect(v.levels).toEqual([['a'], ['b'], ['c']]);
    expect([...v.levelOf]).toEqual([['a', 0], ['b', 1], ['c', 2]]);
    expect(v.dependents.get('a')).toEqual(['b', 'c']);
    expect(v.mergeTree).toBe('c');
  });

  it('rejects a dependency cycle with PLAN_INVALID, naming every id of the cycle', () => {
    const { error, spy } = rejectionOf({
      fragments: [
        { id: 'root', source: 'a', query: q('r') },
        { id: 'x', source: 'a', query: q('x'), dependsOn: ['z'] },
        { id: 'y', source: 'a', query: q('y'), dependsOn: ['x'] },
        { id: 'z', source: 'a', query: q('z'), dependsOn: ['y'] },
      ],
      merge: 'root',
    });
    expect(error.code).toBe('PLAN_INVALID');
    expect(error.message).toContain('x');
    expect(error.message).toContain('y');
    expect(error.message).toContain('z');
    expect(error.message).toMatch(/cycle: (x → z → y → x|y → x → z → y|z → y → x → z)/);
    expect(paths(error)).toEqual(['fragments[1].dependsOn']);
    expect(spy.execute).not.toHaveBeenCalled();
  });

  it('rejects a fragment that depends on itself', () => {
    const { error } = rejectionOf({ fragments: [{ id: 'self', source: 'a', query: q('s'), dependsOn: ['self'] }] });
    expect(error.code).toBe('PLAN_INVALID');
    expect(error.message).toContain('self → self');
  });

  it('rejects an unknown source with SOURCE_UNKNOWN at fragments[i].source', () => {
    const { error, spy } = rejectionOf({
      fragments: [
        { id: 'a', source: 'a', query: q('a') },
        { id: 'b', source: 'nowhere', query: q('b') },
      ],
      merge: { op: 'union', inputs: ['a', 'b'] },
    });
    expect(error.code).toBe('SOURCE_UNKNOWN');
    expect(paths(error)).toEqual(['fragments[1].source']);
    expect(error.message).toContain('nowhere');
    expect(spy.execute).not.toHaveBeenCalled();
  });

  it('rejects an unknown dependsOn at fragments[i].dependsOn[j]', () => {
    const { error, spy } = rejectionOf({
      fragments: [
        { id: 'a', source: 'a', query: q('a') },
        { id: 'b', source: 'a', query: q('b'), dependsOn: ['a', 'ghost'] },
      ],
    });
    expect(error.code).toBe('PLAN_INVALID');
    expect(paths(error)).toEqual(['fragments[1].dependsOn[1]']);
    expect(error.message).toContain('ghost');
    expect(spy.execute).not.toHaveBeenCalled();
  });

  it('rejects a duplicate fragment id at the second occurrence', () => {
    const { error, spy } = rejectionOf({
      fragments: [
        { id: 'a', source: 'a', query: q('a') },
        { id: 'b', source: 'a', query: q('b') },
        { id: 'a', source: 'a', query: q('c') },
      ],
      merge: { op: 'union', inputs: ['a', 'b'] },
    });
    expect(error.code).toBe('PLAN_INVALID');
    expect(paths(error)).toEqual(['fragments[2].id']);
    expect(error.message).toContain('duplicate fragment id "a"');
    expect(spy.execute).not.toHaveBeenCalled();
  });

  it('rejects a $from to a fragment that is not in dependsOn, at the reference', () => {
    const { error, spy } = rejectionOf({
      fragments: [
        { id: 'a', source: 'a', query: q('a') },
        { id: 'b', source: 'a', query: q('b') },
        { id: 'c', source: 'a', query: q('c', [1, { $from: 'b', column: 'id' }]), dependsOn: ['a'] },
      ],
      merge: { op: 'union', inputs: ['b', 'c'] },
    });
    expect(error.code).toBe('PLAN_INVALID');
    expect(paths(error)).toEqual(['fragments[2].query.params[1].$from']);
    expect(spy.execute).not.toHaveBeenCalled();
  });

  it('rejects a $from inside a memory predicate that is not in dependsOn', () => {
    const { error } = rejectionOf({
      fragments: [
        { id: 'a', source: 'a', query: q('a') },
        { id: 'm', source: 'mem', query: { table: 't', where: { in: ['x', { $from: 'a', column: 'x' }] } } },
      ],
      merge: { op: 'union', inputs: ['a', 'm'] },
    });
    expect(error.code).toBe('PLAN_INVALID');
    expect(paths(error)).toEqual(['fragments[1].query.where.in[1].$from']);
  });

  it('rejects a merge leaf that is no fragment at its path in the tree', () => {
    const { error, spy } = rejectionOf({
      fragments: [
        { id: 'a', source: 'a', query: q('a') },
        { id: 'b', source: 'a', query: q('b') },
      ],
      merge: { op: 'limit', n: 1, input: { op: 'join', type: 'inner', left: 'nope', right: 'b', on: [['x', 'x']] } },
    });
    expect(error.code).toBe('PLAN_INVALID');
    expect(paths(error)).toEqual(['merge.input.left']);
    expect(error.message).toContain('"nope"');
    expect(spy.execute).not.toHaveBeenCalled();
  });

  it('rejects a bare merge leaf that is no fragment at path merge', () => {
    const { error } = rejectionOf({ fragments: [{ id: 'a', source: 'a', query: q('a') }], merge: 'b' });
    expect(error.code).toBe('PLAN_INVALID');
    expect(paths(error)).toEqual(['merge']);
  });

  it('rejects a query the source schema rejects, at a path under fragments[i].query', () => {
    const { error, spy } = rejectionOf({
      fragments: [
        { id: 'a', source: 'a', query: q('a') },
        { id: 'm', source: 'mem', query: { table: 't', columns: 'x' } },
      ],
      merge: { op: 'union', inputs: ['a', 'm'] },
    });
    expect(error.code).toBe('PLAN_INVALID');
    expect(paths(error)).toEqual(['fragments[1].query.columns']);
    expect(spy.execute).not.toHaveBeenCalled();
  });

  it('rejects an unknown key in a native query (strict source schema)', () => {
    const { error } = rejectionOf({ fragments: [{ id: 'a', source: 'a', query: { key: 'a', sql: 'x' } }] });
    expect(error.code).toBe('PLAN_INVALID');
    expect(paths(error)).toEqual(['fragments[0].query.sql']);
    expect(error.issues[0]!.message).toContain('sql');
  });

  it('rejects a plan without merge whose last level has several fragments, at path merge', () => {
    const { error, spy } = rejectionOf({
      fragments: [
        { id: 'a', source: 'a', query: q('a') },
        { id: 'b', source: 'a', query: q('b'), dependsOn: ['a'] },
        { id: 'c', source: 'a', query: q('c'), dependsOn: ['a'] },
      ],
    });
    expect(error.code).toBe('PLAN_INVALID');
    expect(paths(error)).toEqual(['merge']);
    expect(error.message).toContain('b, c');
    expect(spy.execute).not.toHaveBeenCalled();
  });

  it('rejects schema errors with the zod path (unknown plan key, bad fragment id)', () => {
    const bad = rejectionOf({ fragments: [{ id: '1abc', source: 'a', query: q('a') }], colour: 'red' });
    expect(bad.error.code).toBe('PLAN_INVALID');
    expect(paths(bad.error).sort()).toEqual(['colour', 'fragments[0].id']);
    expect(rejectionOf('not a plan').error.issues).toEqual([{ path: '(root)', message: expect.stringContaining('JSON object') as string }]);
  });

  it('rejects a batch.param that names no bound $from parameter', () => {
    const { error } = rejectionOf({
      fragments: [
        { id: 'a', source: 'a', query: q('a') },
        { id: 'b', source: 'a', query: q('b', [1, { $from: 'a', column: 'x' }]), dependsOn: ['a'], batch: { param: 0, size: 10 } },
      ],
    });
    expect(error.code).toBe('PLAN_INVALID');
    expect(paths(error)).toEqual(['fragments[1].batch.param']);
  });

  it('lists every problem of a plan at once', () => {
    const { error } = rejectionOf({
      fragments: [
        { id: 'a', source: 'a', query: q('a'), dependsOn: ['ghost'] },
        { id: 'a', source: 'a', query: q('b') },
      ],
    });
    expect(paths(error).sort()).toEqual(['fragments[0].dependsOn[0]', 'fragments[1].id']);
  });

  it('lists the graph problems of the fragments that parsed beside a schema error elsewhere (a merge type)', () => {
    const { error, spy } = rejectionOf({
      fragments: [
        { id: 'a', source: 'a', query: q('a'), dependsOn: ['ghost'] },
        { id: 'a', source: 'a', query: q('b') },
        { id: 'b', source: 'a', query: q('b', [{ $from: 'c', column: 'x' }]) },
        { id: 'c', source: 'a', query: q('c'), dependsOn: ['d'] },
        { id: 'd', source: 'a', query: q('d'), dependsOn: ['c'] },
      ],
      merge: { op: 'join', type: 'full', left: 'a', right: 'b', on: [['x', 'x']] },
    });
    expect(error.code).toBe('PLAN_INVALID');
    expect(paths(error)).toEqual(['merge.type', 'fragments[1].id', 'fragments[0].dependsOn[0]', 'fragments[2].query.params[0].$from', 'fragments[3].dependsOn']);
    expect(error.issues.at(-1)?.message).toBe('dependency cycle: c → d → c');
    expect(spy.execute).not.toHaveBeenCalled();
  });

  it('counts the id of a fragment that did not parse, and checks nothing else of it', () => {
    const { error } = rejectionOf({
      fragments: [
        // Its timeoutMs is wrong: its id still names a fragment, its dependsOn is not looked at.
        { id: 'a', source: 'a', query: q('a'), timeoutMs: -1, dependsOn: ['ghost'] },
        { id: 'b', source: 'a', query: q('b'), dependsOn: ['a'] },
        { id: 'a', source: 'a', query: q('c'), dependsOn: ['nowhere'] },
      ],
      schedule: 'sometimes',
    });
    expect(paths(error).sort()).toEqual(['fragments[0].timeoutMs', 'fragments[2].dependsOn[0]', 'fragments[2].id', 'schedule']);
  });

  it('does not count or echo an id the schema rejected (too long, control characters) in a plan that failed its schema', () => {
    const long = 'x'.repeat(5000);
    const escape = 'a\u001b[2Jb';
    const { error } = rejectionOf({
      fragments: [
        { id: long, source: 'a', query: q('a') },
        { id: long, source: 'a', query: q('b') },
        { id: escape, source: 'a', query: q('c') },
        { id: escape, source: 'a', query: q('d') },
      ],
    });
    expect(paths(error).sort()).toEqual(['fragments[0].id', 'fragments[1].id', 'fragments[2].id', 'fragments[3].id']);
    expect(error.message).not.toContain(long);
    expect(error.message).not.toContain(escape);
    expect(error.issues.some((i) => i.message.includes('duplicate'))).toBe(false);
  });
});

describe('plan limits', () => {
  const chain = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ id: `f${i}`, source: 'a', query: q(`f${i}`), ...(i > 0 ? { dependsOn: [`f${i - 1}`] } : {}) }));

  it('rejects more fragments than maxFragments at path fragments', () => {
    const fragments = Array.from({ length: 4 }, (_, i) => ({ id: `f${i}`, source: 'a', query: q('x') }));
    const { error, spy } = rejectionOf({ fragments, merge: { op: 'union', inputs: ['f0', 'f1', 'f2', 'f3'] } }, { maxFragments: 3 });
    expect(error.code).toBe('PLAN_INVALID');
    expect(error.issues).toEqual([{ path: 'fragments', message: 'the plan has 4 fragments; the limit is 3' }]);
    expect(spy.execute).not.toHaveBeenCalled();
  });

  it('rejects a dependency chain deeper than maxDepth', () => {
    const { error, spy } = rejectionOf({ fragments: chain(6) }, { maxDepth: 5 });
    expect(error.code).toBe('PLAN_INVALID');
    expect(error.issues).toEqual([{ path: 'fragments', message: 'the plan has 6 levels; the limit is 5' }]);
    expect(spy.execute).not.toHaveBeenCalled();
    expect(() => createExecutor({ sources: { a: spySource() }, limits: { maxDepth: 6 } }).validate({ fragments: chain(6) })).not.toThrow();
  });

  it('rejects a merge tree with more nodes than maxMergeNodes at path merge', () => {
    const fragments = chain(1);
    const merge = { op: 'limit', n: 1, input: { op: 'limit', n: 1, input: { op: 'limit', n: 1, input: 'f0' } } };
    const { error, spy } = rejectionOf({ fragments, merge }, { maxMergeNodes: 3 });
    expect(error.code).toBe('PLAN_INVALID');
    expect(error.issues).toEqual([{ path: 'merge', message: 'the merge tree has 4 nodes; the limit is 3' }]);
    expect(spy.execute).not.toHaveBeenCalled();
  });

  it('rejects JSON nested deeper than maxNesting', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 20; i++) deep = [deep];
    const { error, spy } = rejectionOf({ fragments: [{ id: 'a', source: 'a', query: { key: 'a', params: [deep] } }] }, { maxNesting: 16 });
    expect(error.code).toBe('PLAN_INVALID');
    expect(error.issues).toEqual([{ path: '(root)', message: 'the plan nests deeper than 16 levels' }]);
    expect(spy.execute).not.toHaveBeenCalled();
  });

  it('rejects a plan larger than maxPlanBytes', () => {
    const { error, spy } = rejectionOf({ fragments: [{ id: 'a', source: 'a', query: { key: 'k'.repeat(2000) } }] }, { maxPlanBytes: 1024 });
    expect(error.code).toBe('PLAN_INVALID');
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.path).toBe('(root)');
    expect(error.issues[0]!.message).toMatch(/^the plan is \d+ bytes as JSON; the limit is 1024$/);
    expect(spy.execute).not.toHaveBeenCalled();
  });

  it('rejects a plan that is not JSON (a reference cycle) without overflowing', () => {
    const query: Record<string, unknown> = { key: 'a' };
    query.self = query;
    const { error } = rejectionOf({ fragments: [{ id: 'a', source: 'a', query }] });
    expect(error.code).toBe('PLAN_INVALID');
    expect(error.message).toContain('reference cycle');
  });

  it.each([
    ['a Set', new Set([1, 2]), 'fragments[0].query.params[1]', /a Set is not JSON; use an array/],
    ['a Map', new Map([[1, 2]]), 'fragments[0].query.params[1]', /a Map is not JSON/],
    ['a function', () => 1, 'fragments[0].query.params[1]', /a function is not JSON/],
    ['a bigint', 9007199254740993n, 'fragments[0].query.params[1]', /a bigint is not JSON; write it as a string, or pass it as a run param/],
    ['a Promise', Promise.resolve([1]), 'fragments[0].query.params[1]', /a Promise is not JSON/],
    ['a Set inside an object', { ids: new Set([1]) }, 'fragments[0].query.params[1].ids', /a Set is not JSON/],
  ])('rejects %s, which JSON would silently drop or fail on, at its path', (_, value, path, message) => {
    const { error, spy } = rejectionOf({ fragments: [{ id: 'a', source: 'a', query: { key: 'k', params: [1, value] } }] });
    expect(error.code).toBe('PLAN_INVALID');
    expect(error.issues).toEqual([{ path, message: expect.stringMatching(message) }]);
    expect(spy.execute).not.toHaveBeenCalled();
  });

  it('rejects a plan whose getter reads fine at first and throws later with PLAN_INVALID, never a raw error', () => {
    let reads = 0;
    const query = { key: 'k' };
    Object.defineProperty(query, 'params', {
      enumerable: true,
      get: () => {
        if (++reads > 2) throw new Error('gone');
        return [1];
      },
    });
    const { error } = rejectionOf({ fragments: [{ id: 'a', source: 'a', query }] });
    expect(error.code).toBe('PLAN_INVALID');
    expect(error.message).toContain('gone');
  });

  it('rejects a fragment that says how it serializes (toJSON) and whose getter throws with PLAN_INVALID, never a raw error', () => {
    // The shape checks and the own copy take an object with toJSON as one value: the schema is the first to read it.
    class Opaque {
      toJSON(): string {
        return 'opaque';
      }
      get id(): string {
        throw new Error('gone');
      }
    }
    for (const plan of [{ fragments: [new Opaque()] }, { fragments: [new Opaque()], merge: { op: 'full' } }]) {
      const { error, spy } = rejectionOf(plan);
      expect(error.code).toBe('PLAN_INVALID');
      expect(error.issues).toEqual([{ path: '(root)', message: expect.stringContaining('cannot be read') as string }]);
      expect(spy.execute).not.toHaveBeenCalled();
    }
  });

  it('accepts a bigint once the app has taught JSON bigints (BigInt.prototype.toJSON)', () => {
    const proto = BigInt.prototype as { toJSON?: () => string };
    proto.toJSON = function (this: bigint) {
      return this.toString();
    };
    try {
      const plan = { fragments: [{ id: 'a', source: 'a', query: { key: 'k', params: [9007199254740993n] } }] };
      expect(() => createExecutor({ sources: { a: spySource() } }).validate(plan)).not.toThrow();
    } finally {
      delete proto.toJSON;
    }
  });

  it('accepts the values a driver binds as they are: a Date, a Buffer, a typed array, an object with toJSON', () => {
    const ownToJson = { toJSON: () => '1.10' };
    const params = [new Date(0), Buffer.from('ab'), new Uint8Array([1, 2]), new Decimal('1.10'), ownToJson, Object(1)];
    const plan = { fragments: [{ id: 'a', source: 'a', query: { key: 'k', params } }] };
    expect(() => createExecutor({ sources: { a: spySource() } }).validate(plan)).not.toThrow();
  });
});
