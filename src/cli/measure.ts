import type { ExecuteContext, SourceExecutor } from '../sources/source.js';
import type { Row } from '../data/row.js';
import { estimateRowBytes } from '../data/bytes.js';

/**
 * Wraps sources so the bytes each fragment receives are counted (the estimate `maxBytes`
 * uses), for EXPLAIN ANALYZE. A wrapper inherits everything else from its source, so
 * lanes, retry classification and close() behave as before. Only successful calls count;
 * a fragment served from the cache makes no call and has no count.
 */
export function measureBytes(sources: Readonly<Record<string, SourceExecutor>>): { sources: Record<string, SourceExecutor>; bytes: Map<string, number> } {
  const bytes = new Map<string, number>();
  const add = (ctx: ExecuteContext, rows: readonly Row[]): void => {
    if (ctx.fragmentId === undefined) return;
    let n = 0;
    for (const row of rows) n += estimateRowBytes(row);
    bytes.set(ctx.fragmentId, (bytes.get(ctx.fragmentId) ?? 0) + n);
  };
  const wrapped: Record<string, SourceExecutor> = {};
  for (const [name, source] of Object.entries(sources)) {
    const proxy = Object.create(source) as SourceExecutor;
    proxy.execute = (query, ctx) => {
      const out = source.execute(query, ctx);
      if (isAsyncIterable(out)) return counted(out, ctx, add);
      return out.then((rows) => {
        add(ctx, rows);
        return rows;
      });
    };
    Object.defineProperty(wrapped, name, { value: proxy, enumerable: true, configurable: true, writable: true });
  }
  return { sources: wrapped, bytes };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Row[]> {
  return typeof (value as AsyncIterable<Row[]> | null)?.[Symbol.asyncIterator] === 'function';
}

async function* counted(batches: AsyncIterable<Row[]>, ctx: ExecuteContext, add: (ctx: ExecuteContext, rows: readonly Row[]) => void): AsyncIterable<Row[]> {
  for await (const rows of batches) {
    add(ctx, rows);
    yield rows;
  }
}
