import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, memorySource } from '../../src/index.js';
import type { Row } from '../../src/data/row.js';
import type { SourceExecutor } from '../../src/sources/source.js';

describe('column names through the pipeline', () => {
  it('keeps the names a connector attached when a fragment’s batches are concatenated, rows or none', async () => {
    const executor = createExecutor({
      sources: { mem: memorySource({ tables: { keys: [{ k: 1 }, { k: 2 }, { k: 3 }], items: [{ id: 1, name: 'one' }, { id: 7, name: 'seven' }] } }) },
      cache: false,
    });
    try {
      const plan = (table: 'items', keysWhere?: object) => ({
        fragments: [
          { id: 'keys', source: 'mem', query: { table: 'keys', ...(keysWhere ? { where: keysWhere } : {}) } },
          { id: 'items', source: 'mem', dependsOn: ['keys'], query: { table, where: { in: ['id', { $from: 'keys', column: 'k' }] } }, batch: { param: 0, size: 1 } },
        ],
        merge: 'items',
      });
      const some = await executor.execute(plan('items'));
      expect(some.fragments.items!.calls).toBe(3);
      expect(some.rows).toEqual([{ id: 1, name: 'one' }]);
      expect(some.columns).toEqual(['id', 'name']);
      // Three batches, none with a row: the names still come through.
      const none = await executor.execute(plan('items', { gt: ['k', 1] }));
      expect(none.fragments.items!.calls).toBe(2);
      expect(none.rows).toEqual([]);
      expect(none.columns).toEqual(['id', 'name']);
    } finally {
      await executor.close();
    }
  });

  it('keeps the names of a streamed source’s first batch on the rows it keeps', async () => {
    const named = (rows: Row[], names: string[]): Row[] => Object.defineProperty(rows, 'columns', { value: Object.freeze(names), enumerable: false });
    const stream: SourceExecutor<Record<string, never>> = {
      kind: 'stream',
      querySchema: z.strictObject({}),
      execute: async function* () {
        yield named([], ['a', 'b']);
        yield [];
      },
    };
    const executor = createExecutor({ sources: { s: stream }, cache: false });
    try {
      const result = await executor.execute({ fragments: [{ id: 'f', source: 's', query: {} }] });
      expect(result.rows).toEqual([]);
      expect(result.columns).toEqual(['a', 'b']);
    } finally {
      await executor.close();
    }
  });
});
