import type { Row } from '../data/row.js';
import { TributaryError } from '../errors.js';
import type { QueryResult } from './result.js';

/** `run.rows(batchSize)` with a batch size below 1, which would yield empty batches forever. @internal */
// eslint-disable-next-line require-yield -- it fails before its first batch
export async function* invalidBatchSize(size: number): AsyncIterableIterator<Row[]> {
  throw new TributaryError('CONFIG_INVALID', `rows(batchSize): expected a positive integer, got ${size}`, { issues: [{ path: 'batchSize', message: 'expected a positive integer' }] });
}

/** A finished result's rows in batches of `size` (`run.rows()` on a run that does not stream). @internal */
export async function* batches(result: Promise<QueryResult>, size: number): AsyncIterableIterator<Row[]> {
  const r = await result;
  if (r.status === 'failed') throw r.errors[0] ?? new TributaryError('FRAGMENT_FAILED', 'the query failed');
  for (let i = 0; i < r.rows.length; i += size) yield r.rows.slice(i, i + size);
}
