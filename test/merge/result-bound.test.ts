import { describe, expect, it } from 'vitest';
import { evaluateMerge, type MergeNode } from '../../src/index.js';
import { TributaryError } from '../../src/errors.js';
import type { Row } from '../../src/data/row.js';
import { withColumns } from '../../src/data/columns.js';
import { planStream } from '../../src/merge/stream.js';

const rows = (n: number, extra: (i: number) => Row = () => ({})): Row[] => Array.from({ length: n }, (_, i) => ({ id: i, k: 1, ...extra(i) }));

function failure(node: MergeNode, inputs: Map<string, Row[]>, limits?: { maxRows?: number; maxBytes?: number }): TributaryError {
  try {
    evaluateMerge(node, inputs, limits === undefined ? {} : { limits });
  } catch (error) {
    expect(error).toBeInstanceOf(TributaryError);
    expect((error as TributaryError).code).toBe('LIMIT_EXCEEDED');
    return error as TributaryError;
  }
  return expect.fail('expected LIMIT_EXCEEDED');
}

describe('merge result bounds (evaluateMerge)', () => {
  const inputs = new Map([
    ['a', rows(300)],
    ['b', rows(300)],
  ]);
  const product: MergeNode = { op: 'join', type: 'inner', left: 'a', right: 'b', on: [['k', 'k']] };

  it('fails a join at the row past maxRows, at the join path', () => {
    const error = failure(product, inputs, { maxRows: 1000 });
    expect(error.issues).toEqual([{ path: 'merge', message: expect.stringContaining('maxResultRows=1000') }]);
    // Exactly at the bound it passes.
    expect(evaluateMerge(product, inputs, { limits: { maxRows: 90_000 } }).rows).toHaveLength(90_000);
  });

  it('names the step below others by its path', () => {
    const node: MergeNode = { op: 'limit', n: 5, input: { op: 'union', inputs: ['a', product] } };
    expect(failure(node, inputs, { maxRows: 1000 }).issues[0]!.path).toBe('merge.input.inputs[1]');
  });

  it('counts the child rows a nest attaches (a nest on a constant column attaches every child to every parent)', () => {
    const node: MergeNode = { op: 'nest', parent: 'a', child: 'b', on: [['k', 'k']], as: 'children' };
    expect(failure(node, inputs, { maxRows: 5000 }).issues[0]).toEqual({ path: 'merge', message: expect.stringContaining('maxResultRows=5000') });
    expect(failure(node, inputs, { maxBytes: 1_000_000 }).issues[0]!.message).toContain('maxResultBytes=1000000');
    expect(evaluateMerge(node, inputs, { limits: { maxRows: 300 * 301 } }).rows).toHaveLength(300);
  });

  it('bounds a union, a project and an aggregate by their outputs', () => {
    const many = new Map([['a', rows(600)], ['b', rows(600)]]);
    expect(failure({ op: 'union', inputs: ['a', 'b'] }, many, { maxRows: 1000 }).issues[0]!.path).toBe('merge');
    expect(failure({ op: 'project', columns: ['id'], input: 'a' }, many, { maxRows: 599 }).issues[0]!.path).toBe('merge');
    expect(failure({ op: 'aggregate', groupBy: ['id'], aggregates: [{ fn: 'count', as: 'n' }], input: 'a' }, many, { maxRows: 599 }).issues[0]!.path).toBe('merge');
  });

  it('bounds bytes by default (256 MiB estimated) and lifts them with Infinity', () => {
    const wide = new Map([['a', rows(200, () => ({ body: 'x'.repeat(4000) }))], ['b', rows(200, () => ({ body: 'y'.repeat(4000) }))]]);
    expect(failure(product, wide).issues[0]!.message).toContain('maxResultBytes=268435456');
    expect(evaluateMerge(product, wide, { limits: { maxBytes: Infinity } }).rows).toHaveLength(40_000);
  });
});

/** `n` rows `{ id, k: 1 }` whose `k` counts its reads: how many rows a step made before it failed. */
function countingRows(n: number): { rows: Row[]; reads: () => number } {
  let reads = 0;
  const rows = Array.from({ length: n }, (_, i) => {
    const row: Row = { id: i };
    Object.defineProperty(row, 'k', { enumerable: true, get: () => (reads++, 1) });
    return row;
  });
  return { rows: withColumns(rows, ['id', 'k']), reads: () => reads };
}

async function streamFailure(run: Promise<unknown>): Promise<TributaryError> {
  const error = await run.then(() => expect.fail('expected LIMIT_EXCEEDED'), (e: unknown) => e);
  expect(error).toBeInstanceOf(TributaryError);
  expect((error as TributaryError).code).toBe('LIMIT_EXCEEDED');
  return error as TributaryError;
}

describe('a filter counts its output row by row', () => {
  const keepAll: MergeNode = { op: 'filter', input: 'a', where: { eq: ['k', 1] } };

  it('a filter fails at the kept row past maxRows, not once the whole batch is kept (eager and streamed)', async () => {
    const eager = countingRows(10_000);
    expect(failure(keepAll, new Map([['a', eager.rows]]), { maxRows: 5 }).issues[0]).toEqual({ path: 'merge', message: expect.stringContaining('maxResultRows=5') });
    expect(eager.reads()).toBe(6);
    const streamed = countingRows(10_000);
    const flow = planStream(keepAll)!.start({ params: {}, materialize: () => Promise.resolve([]), limits: { maxRows: 5 } });
    expect((await streamFailure(flow.push('a', streamed.rows))).issues[0]!.path).toBe('merge');
    expect(streamed.reads()).toBe(6);
  });
});

describe('a streamed union counts bytes as the whole merge does', () => {
  const node: MergeNode = { op: 'union', inputs: ['a', 'b'] };
  // A narrow input first, then a wide one: the union pads the narrow rows with `body: null`.
  // 1,920 rows: 30 batches of 64, so the wide rows start where the eager union checks too.
  const a = withColumns(Array.from({ length: 1920 }, (_, i) => ({ id: i })), ['id']);
  const b = withColumns(Array.from({ length: 2000 }, (_, i) => ({ id: i, body: 'x'.repeat(1000) })), ['id', 'body']);

  /** The streamed union's failure, its inputs pushed in batches of `size`: how many rows it gave first, and its message. */
  async function streamed(maxBytes: number, size: number): Promise<{ given: number; message: string }> {
    const flow = planStream(node)!.start({ params: {}, materialize: () => Promise.resolve([]), limits: { maxBytes } });
    let given = 0;
    const run = (async () => {
      // As a run does: each source names its columns (a SQL source, before its first row).
      await flow.show('a', withColumns([], ['id']));
      await flow.show('b', withColumns([], ['id', 'body']));
      for (const [leaf, rows, columns] of [['a', a, ['id']], ['b', b, ['id', 'body']]] as const) {
        for (let i = 0; i < rows.length; i += size) given += (await flow.push(leaf, withColumns(rows.slice(i, i + size), [...columns]))).length;
        await flow.end(leaf);
      }
    })();
    return { given, message: (await streamFailure(run)).issues[0]!.message };
  }

  it('in batches of 64 rows, fails at the same row with the same estimate as the eager union, padding included', async () => {
    for (const maxBytes of [100_000, 500_000, 1_000_000, 4_000_000]) {
      const eager = failure(node, new Map([['a', a], ['b', b]]), { maxBytes }).issues[0]!.message;
      const got = await streamed(maxBytes, 64);
      expect(got.message).toBe(eager);
      // The eager union checks every 64 rows: the estimate names the row it failed at.
      expect(got.given % 64).toBe(0);
    }
  });

  it('in small batches, samples the wide rows too: it fails no later than the eager union', async () => {
    for (const maxBytes of [500_000, 1_000_000, 2_000_000]) {
      const got = await streamed(maxBytes, 10);
      const eager = Number(/about (\d+) bytes/.exec(failure(node, new Map([['a', a], ['b', b]]), { maxBytes }).issues[0]!.message)![1]);
      const estimate = Number(/about (\d+) bytes/.exec(got.message)![1]);
      expect(estimate).toBeGreaterThan(maxBytes);
      expect(estimate).toBeLessThanOrEqual(eager);
    }
  });
});
