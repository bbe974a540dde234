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
