/**
 * The sources of the workers example, defined once and used on both sides: the
 * coordinator needs them for validation (query schemas) and the workers run them.
 */
import { memorySource, type Row, type SourceExecutor } from '../src/index.js';

const regions = [
  { code: 'EU', label: 'Europe' },
  { code: 'US', label: 'United States' },
  { code: 'AP', label: 'Asia-Pacific' },
];
const orders: Row[] = Array.from({ length: 600 }, (_, i) => ({ id: i, month: 1 + (i % 12), region: regions[i % 3]!.code, total: 10 + ((i * 37) % 90) }));

/** Waits `ms` (a stand-in for a slow database), stopping early when the call is aborted. */
function slow(inner: SourceExecutor, ms: number): SourceExecutor {
  return {
    kind: inner.kind,
    querySchema: inner.querySchema,
    execute: async (query, ctx) => {
      await new Promise((resolve) => setTimeout(resolve, ms, undefined));
      ctx.signal.throwIfAborted();
      return (await inner.execute(query, ctx)) as Row[];
    },
  };
}

export function exampleSources(): Record<string, SourceExecutor> {
  return {
    shop: slow(memorySource({ tables: { orders } }), 150),
    ref: memorySource({ tables: { regions } }),
  };
}

/** Twelve monthly order scans and the region names, joined and summed per region. */
export const examplePlan = {
  id: 'orders-by-region',
  fragments: [
    { id: 'regions', source: 'ref', query: { table: 'regions' } },
    ...Array.from({ length: 12 }, (_, m) => ({ id: `orders-m${m + 1}`, source: 'shop', query: { table: 'orders', where: { eq: ['month', m + 1] } } })),
  ],
  merge: {
    op: 'sort',
    by: [{ column: 'revenue', desc: true }],
    input: {
      op: 'aggregate',
      groupBy: ['label'],
      aggregates: [
        { fn: 'count', as: 'orders' },
        { fn: 'sum', column: 'total', as: 'revenue' },
      ],
      input: {
        op: 'join',
        type: 'inner',
        left: { op: 'union', inputs: Array.from({ length: 12 }, (_, m) => `orders-m${m + 1}`) },
        right: 'regions',
        on: [['region', 'code']],
      },
    },
  },
};
