import type { Redis } from 'ioredis';
import type { Row } from '../data/row.js';
import { withColumns } from '../data/columns.js';
import { TributaryError } from '../errors.js';
import { decodeRows, type JobResult } from './codec.js';
import type { remoteKeys } from './connection.js';

type Keys = ReturnType<typeof remoteKeys>;

/** More chunks than any worker stores for one call (256 KiB each by default: 25 GiB). */
const MAX_CHUNKS = 100_000;

const isCount = (n: unknown, max = Number.MAX_SAFE_INTEGER): n is number => Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= max;

/**
 * A completed job's return value, checked: it is data from Redis, and a count of chunks a
 * worker never gives (a billion of them) would be allocated before anything else failed.
 */
export function checkJobResult(value: unknown, jobId: string): JobResult {
  const r = value as Partial<JobResult> | null;
  const columnsOk = (c: unknown): boolean => c === undefined || (Array.isArray(c) && c.every((n) => typeof n === 'string'));
  const countOk = (n: unknown): boolean => n === undefined || isCount(n);
  if (typeof r === 'object' && r !== null && isCount(r.chunks, MAX_CHUNKS) && isCount(r.rows) && typeof r.worker === 'string' && columnsOk(r.columns) && countOk(r.counted) && countOk(r.requests)) return r as JobResult;
  throw new TributaryError('SOURCE_BAD_RESPONSE', `job ${jobId} completed with a result no worker gives: ${String(JSON.stringify(value)).slice(0, 200)}`, { retryable: false });
}

/** Deletes a job's stored rows (a job given up on that completed anyway); best effort. */
export function dropChunks(client: Redis, keys: Keys, jobId: string, chunks: number): Promise<unknown> {
  if (!isCount(chunks, MAX_CHUNKS)) return Promise.resolve();
  return client.del(...Array.from({ length: chunks }, (_, n) => keys.result(jobId, n))).catch(() => undefined);
}

/**
 * Reads a completed job's rows and deletes them in the same transaction, within the call's
 * `maxBytes` (see decodeRows). A failed read or an expired chunk throws what `unavailable`
 * makes of it; a result no worker gives, SOURCE_BAD_RESPONSE.
 */
export async function readJobRows(client: Redis, keys: Keys, jobId: string, returned: unknown, unavailable: (why: string, cause?: unknown) => TributaryError, maxBytes?: number): Promise<Row[]> {
  const result = checkJobResult(returned, jobId);
  if (result.chunks === 0) return Array.isArray(result.columns) ? withColumns([], result.columns) : [];
  const chunkKeys = Array.from({ length: result.chunks }, (_, n) => keys.result(jobId, n));
  const replies = (await client.multi().mgetBuffer(...chunkKeys).del(...chunkKeys).exec()) ?? [];
  const [error, buffers] = replies[0] ?? [];
  if (error) throw unavailable(`reading job ${jobId}'s rows failed: ${error.message}`, error);
  const chunks = buffers as (Buffer | null)[];
  if (chunks.some((c) => c === null)) throw unavailable(`job ${jobId}'s rows expired before they were read (raise the worker's resultTtlMs)`);
  const rows = decodeRows(chunks as Buffer[], maxBytes);
  return Array.isArray(result.columns) ? withColumns(rows, result.columns) : rows;
}
