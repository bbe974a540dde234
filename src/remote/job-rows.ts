import type { Redis } from 'ioredis';
import type { Row } from '../data/row.js';
import { withColumns } from '../data/columns.js';
import type { TributaryError } from '../errors.js';
import { decodeRows, type JobResult } from './codec.js';
import type { remoteKeys } from './connection.js';

type Keys = ReturnType<typeof remoteKeys>;

/** Deletes a job's stored rows (a job given up on that completed anyway); best effort. */
export function dropChunks(client: Redis, keys: Keys, jobId: string, chunks: number): Promise<unknown> {
  return client.del(...Array.from({ length: chunks }, (_, n) => keys.result(jobId, n))).catch(() => undefined);
}

/**
 * Reads a completed job's rows and deletes them in the same transaction. A failed read or
 * an expired chunk throws what `unavailable` makes of it.
 */
export async function readJobRows(client: Redis, keys: Keys, jobId: string, result: JobResult, unavailable: (why: string, cause?: unknown) => TributaryError): Promise<Row[]> {
  if (result.chunks === 0) return Array.isArray(result.columns) ? withColumns([], result.columns) : [];
  const chunkKeys = Array.from({ length: result.chunks }, (_, n) => keys.result(jobId, n));
  const replies = (await client.multi().mgetBuffer(...chunkKeys).del(...chunkKeys).exec()) ?? [];
  const [error, buffers] = replies[0] ?? [];
  if (error) throw unavailable(`reading job ${jobId}'s rows failed: ${error.message}`, error);
  const chunks = buffers as (Buffer | null)[];
  if (chunks.some((c) => c === null)) throw unavailable(`job ${jobId}'s rows expired before they were read (raise the worker's resultTtlMs)`);
  const rows = decodeRows(chunks as Buffer[]);
  return Array.isArray(result.columns) ? withColumns(rows, result.columns) : rows;
}
