import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, memorySource, withColumns, type MergeNode, type Row, type SourceExecutor } from '../../src/index.js';

/**
 * A batch shows only its own input's columns; the whole merge sees every input's. These
 * tests hold streamed rows to what `run.result` gives for inputs whose columns differ: a
 * union of sources with different columns, and JSON pages that leave out null fields.
 */

/** A source that streams the batches it is given for a query `{ name }`, in order, a tick apart. */
function batched(batches: Record<string, Row[][]>, named = false): SourceExecutor<{ name: string }> {
  const of = (name: string): Row[][] => batches[name] ?? [];
  const withNames = (rows: Row[]): Row[] => (named ? withColumns(rows, [...new Set(rows.flatMap((r) => Object.keys(r)))]) : rows);
  return {
    kind: 'batched',
    querySchema: z.strictObject({ name: z.string() }),
    execute(query, ctx) {
      if (!ctx.stream) return Promise.resolve(withNames(of(query.name).flat()));
      return (async function* () {
        for (const batch of of(query.name)) {
          await new Promise((r) => setTimeout(r, 1));
          yield withNames(batch);
        }
      })();
    },
  };
}

async function both(sources: Record<string, SourceExecutor>, fragments: { id: string; source: string; query: unknown; dependsOn?: string[] }[], merge: MergeNode) {
  const executor = createExecutor({ sources, cache: false });
  const whole = await executor.execute({ fragments, merge });
  const run = executor.run({ fragments, merge });
  const streamed: Row[] = [];
  let error: unknown;
  try {
    for await (const batch of run.rows()) streamed.push(...batch);
  } catch (e) {
    error = e;
  }
  const result = await run.result.catch((e: unknown) => e);
  await executor.close();
  return { whole, streamed, error, result };
}

const byId = (rows: Row[]) => [...rows].sort((a, b) => Number(a.id) - Number(b.id));

describe('streamed rows have the columns the whole merge gives them', () => {
  it('a bare union pads each streamed row with every column its inputs have shown so far, as the whole merge does', async () => {
    const source = batched(
      {
        us: [[{ id: 1, state: 'CA' }], [{ id: 2, state: 'NY' }], [{ id: 5, state: 'WA' }]],
        eu: [[{ id: 3, vat: 'FR1' }], [{ id: 4, vat: 'DE2' }]],
      },
      true,
    );
    const fragments = [
      { id: 'us', source: 's', query: { name: 'us' } },
      { id: 'eu', source: 's', query: { name: 'eu' } },
    ];
    const { whole, streamed, error, result } = await both({ s: source }, fragments, { op: 'union', inputs: ['us', 'eu'] });
    expect(error).toBeUndefined();
    expect((result as { status: string }).status).toBe('ok');
    expect(whole.columns).toEqual(['id', 'state', 'vat']);
    const byId = (rows: Row[]) => new Map(rows.map((r) => [r.id, r]));
    const wholeRows = byId(whole.rows);
    // Every row after both inputs had shown their columns is the whole merge's row, keys in its order;
    // before, a row carried its own input's columns only ({ id: 3, vat: 'FR1' }).
    const [first, ...rest] = streamed;
    expect(rest).toHaveLength(4);
    for (const row of rest) {
      expect(row).toEqual(wholeRows.get(row.id));
      expect(Object.keys(row)).toEqual(Object.keys(wholeRows.get(row.id)!));
    }
    // The very first batch went out before the other input had shown its columns: it has its own.
    expect(first).toEqual({ id: 1, state: 'CA' });
    expect((result as { columns: string[] }).columns).toEqual(['id', 'state', 'vat']);
  });

  it('a project over a union of inputs with different columns pads the columns an input lacks', async () => {
    const sources = { s: batched({ us: [[{ id: 2, state: 'CA' }]], eu: [[{ id: 1, vat: 'DE1' }], [{ id: 3, vat: 'FR9' }]] }, true) };
    const fragments = [
      { id: 'us', source: 's', query: { name: 'us' } },
      { id: 'eu', source: 's', query: { name: 'eu' } },
    ];
    const merge: MergeNode = { op: 'project', input: { op: 'union', inputs: ['us', 'eu'] }, columns: ['id', 'state', 'vat'] };
    const { whole, streamed, error } = await both(sources, fragments, merge);
    expect(error).toBeUndefined();
    expect(whole.status).toBe('ok');
    expect(byId(streamed)).toEqual(byId(whole.rows));
    expect(streamed.every((r) => Object.keys(r).join() === 'id,state,vat')).toBe(true);
  });

  it('a projected column that no input has fails the streamed run as it fails the whole one', async () => {
    const sources = { s: batched({ a: [[{ id: 1, x: 1 }]], b: [[{ id: 2, y: 2 }]] }, true) };
    const fragments = [
      { id: 'a', source: 's', query: { name: 'a' } },
      { id: 'b', source: 's', query: { name: 'b' } },
    ];
    const merge: MergeNode = { op: 'project', input: { op: 'union', inputs: ['a', 'b'] }, columns: ['id', 'typo'] };
    const { whole, error, result } = await both(sources, fragments, merge);
    expect(whole.status).toBe('failed');
    expect(whole.errors[0]!.code).toBe('MERGE_FAILED');
    expect((error as { code?: string }).code).toBe('MERGE_FAILED');
    expect((error as Error).message).toContain('"typo"');
    // The run fails its merge, as the whole one does: not a fragment that did nothing wrong.
    const failed = result as typeof whole;
    expect(failed.status).toBe('failed');
    expect(failed.errors.map((e) => e.code)).toEqual(['MERGE_FAILED']);
    expect(failed.errors[0]).not.toHaveProperty('fragmentId');
    expect(Object.values(failed.fragments).map((f) => f.status)).toEqual(['succeeded', 'succeeded']);
  });

  it('a join never puts a right value into a left column a later batch has', async () => {
    // JSON pages leave out null fields: page one has no "note", page two has one.
    const sources = {
      api: batched({ l: [[{ id: 1, k: 1 }], [{ id: 2, k: 1, note: 'left' }]] }),
      ref: memorySource({ tables: { r: [{ k: 1, note: 'right' }] } }),
    };
    const fragments = [
      { id: 'r', source: 'ref', query: { table: 'r' } },
      // After the right side: its pages stream (one that starts first runs whole, see rows.test.ts).
      { id: 'l', source: 'api', query: { name: 'l' }, dependsOn: ['r'] },
    ];
    const merge: MergeNode = { op: 'join', type: 'inner', left: 'l', right: 'r', on: [['k', 'k']] };
    const { whole, streamed, error, result } = await both(sources, fragments, merge);
    expect(whole.rows).toEqual([
      { id: 1, k: 1, note: null, 'r.k': 1, 'r.note': 'right' },
      { id: 2, k: 1, note: 'left', 'r.k': 1, 'r.note': 'right' },
    ]);
    // The first page's row went out before the second page showed a left "note": the
    // stream cannot name it as the whole merge does. It stops with the merge's error
    // rather than hand on the second page's right "note" as the left's.
    expect((error as { code?: string }).code).toBe('MERGE_FAILED');
    expect((error as Error).message).toContain('"note"');
    expect(streamed).toHaveLength(1);
    expect((result as typeof whole).status).toBe('failed');
  });

  it('a join over a union whose inputs have the same columns streams as the whole merge', async () => {
    const sources = {
      s: batched({ a: [[{ id: 1, k: 1 }], [{ id: 2, k: 2 }]], b: [[{ id: 3, k: 1 }]] }, true),
      ref: memorySource({ tables: { r: [{ k: 1, note: 'one' }, { k: 2, note: 'two' }] } }),
    };
    const fragments = [
      { id: 'r', source: 'ref', query: { table: 'r' } },
      { id: 'a', source: 's', query: { name: 'a' } },
      { id: 'b', source: 's', query: { name: 'b' } },
    ];
    const merge: MergeNode = { op: 'join', type: 'left', left: { op: 'union', inputs: ['a', 'b'] }, right: 'r', on: [['k', 'k']] };
    const { whole, streamed, error } = await both(sources, fragments, merge);
    expect(error).toBeUndefined();
    expect(byId(streamed)).toEqual(byId(whole.rows));
    expect(whole.rows).toHaveLength(3);
  });

  it('a right column whose name a left input has is renamed in every streamed row once the left shows it', async () => {
    // Both inputs have "note" from their first batch on: the whole merge and the stream agree.
    const sources = {
      s: batched({ a: [[{ id: 1, k: 1, note: null }]], b: [[{ id: 2, k: 1, note: 'b' }]] }, true),
      ref: memorySource({ tables: { r: [{ k: 1, note: 'right' }] } }),
    };
    const fragments = [
      { id: 'r', source: 'ref', query: { table: 'r' } },
      { id: 'a', source: 's', query: { name: 'a' } },
      { id: 'b', source: 's', query: { name: 'b' } },
    ];
    const merge: MergeNode = { op: 'join', type: 'inner', left: { op: 'union', inputs: ['a', 'b'] }, right: 'r', on: [['k', 'k']] };
    const { whole, streamed, error } = await both(sources, fragments, merge);
    expect(error).toBeUndefined();
    expect(byId(streamed)).toEqual(byId(whole.rows));
    expect(streamed.map((r) => r['r.note'])).toEqual(['right', 'right']);
  });
});
