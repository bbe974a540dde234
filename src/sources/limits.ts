import { TributaryError } from '../errors.js';
import { estimateRowBytes } from '../data/bytes.js';
import type { Row } from '../data/row.js';
import type { ExecuteContext } from './source.js';

/** Counts the rows and estimated bytes of one call; throws LIMIT_EXCEEDED past a bound. */
export interface RowBounds {
  /** Accounts for one more row; throws LIMIT_EXCEEDED when it does not fit. */
  add(row: Row): void;
}

const smaller = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);

/** The bounds of one call: the smaller of the context's and the source's own limits. */
export function createRowBounds(
  ctx: Pick<ExecuteContext, 'limits' | 'fragmentId'>,
  own: { maxRows?: number | undefined; maxBytes?: number | undefined },
  sourceName: string,
): RowBounds {
  const maxRows = smaller(ctx.limits?.maxRows, own.maxRows);
  const maxBytes = smaller(ctx.limits?.maxBytes, own.maxBytes);
  let rows = 0;
  let bytes = 0;
  const exceeded = (what: string) => {
    const fragment = ctx.fragmentId === undefined ? 'a fragment' : `fragment ${ctx.fragmentId}`;
    const message = `${fragment} on source ${sourceName}: ${what}`;
    const path = ctx.fragmentId === undefined ? 'fragments' : `fragments.${ctx.fragmentId}`;
    return new TributaryError('LIMIT_EXCEEDED', message, { retryable: false, issues: [{ path, message }] });
  };
  return {
    add(row) {
      rows += 1;
      if (maxRows !== undefined && rows > maxRows) throw exceeded(`more than maxRows=${maxRows} rows`);
      if (maxBytes === undefined) return;
      bytes += estimateRowBytes(row);
      if (bytes > maxBytes) throw exceeded(`more than maxBytes=${maxBytes} bytes (estimated)`);
    },
  };
}
