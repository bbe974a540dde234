import { deserialize, serialize } from 'node:v8';
import { gunzipSync, gzipSync } from 'node:zlib';
import { TributaryError } from '../errors.js';
import { classifyError } from '../execution/classify.js';
import type { Principal, SourceExecutor } from '../sources/source.js';
import type { Row } from '../data/row.js';
import { createValueMask } from '../value-mask.js';
import { findUnserializable } from './payload-path.js';
import type { ChunkKind } from './chunk-kinds.js';

/**
 * What crosses Redis between a coordinator and a worker. Queries, params and rows are
 * V8-serialized (so bigint, Buffer, Date and Map survive as they do in-process) and, for
 * rows, gzipped. @internal
 */

/** A job's data: the source name and fragment in clear (for dashboards), the rest encoded. */
export interface JobData {
  source: string;
  fragmentId: string;
  /** base64 of the V8-serialized `CallPayload`; gone once the job failed (job-scrub.ts). */
  payload?: string;
}

export interface CallPayload {
  query: unknown;
  params: unknown[];
  principal?: Principal;
  limits?: { maxRows?: number; maxBytes?: number };
  /**
   * The call's `ExecuteContext.budgetMs`, counted from `sentAt` (when the call was made: the
   * caller's `Date.now()`, which the lane puts on Redis's clock before the job is queued, see
   * redis-clock.ts): the worker hands its source what is left of it.
   */
  budgetMs?: number;
  sentAt?: number;
  /**
   * The requests the call's fragment had sent in this run when the call was queued (its
   * request tally, see request-tally.ts): the worker's call counts from there, and seeds the
   * fragment's count in Redis with it (`requestCap`), so `httpSource`'s `maxRequests` bounds
   * what is left of the fragment's, not a fresh one.
   */
  requests?: number;
  /**
   * The fragment's request cap as its coordinator decided it (`max`: its `httpSource`'s
   * `maxRequests`, or the default, `Infinity` when lifted; the worker holds the call to it, or
   * to its own where that is smaller), and the name of the fragment's count in Redis that every
   * job of the fragment reserves from when either cap is finite
   * (`tributary:<queue>:requests:<tally>`, see job-requests.ts).
   */
  requestCap?: { max: number; tally?: string };
  /**
   * How the call's chunks of batched lists go, where their whole list is of another kind than
   * the chunk alone (chunk-kinds.ts): the worker types them so, as this process would.
   */
  chunkKinds?: ChunkKind[];
}

/** A completed job's return value: where the rows are and who ran it. */
export interface JobResult {
  chunks: number;
  rows: number;
  /** The column names the source attached (`withColumns`), so zero rows still name them. */
  columns?: string[];
  bytes: number;
  worker: string;
  /** The rows' bytes as counted against the call's `limits.maxBytes` on the worker (see `CallOutput.bytes`). */
  counted?: number;
  /** Requests the call sent (`httpSource`), for its fragment's request tally on the coordinator. */
  requests?: number;
  /** The call reserved from its fragment's count in Redis (which the coordinator then deletes with the fragment's last job). */
  shared?: true;
}

/** What a job tells its coordinator besides its rows (see `RemoteLane.call`). */
export interface RemoteCounts {
  /** Requests the call sent. */
  requests?: number | undefined;
  /** The job may have left its fragment's count in Redis (its worker reserved there, or died). */
  shared?: boolean | undefined;
  /** The rows' bytes as counted against the call's byte bound, when the worker counted them. */
  bytes?: number | undefined;
}

/** A failed job's reason (the JSON of it): the worker's classification of the error. */
export interface RemoteFailure {
  tributary: 1;
  code: string;
  message: string;
  retryable: boolean;
  driverCode?: string;
  retryAfterMs?: number;
  /** The call never reached its server (see execution/retry-safety.ts): even a write may be retried. */
  noEffect?: boolean;
  worker: string;
  /** Requests the call sent before it failed. */
  requests?: number;
  /** As a completed job's `JobResult.shared`. */
  shared?: true;
}

/**
 * The job's payload, V8-serialized. A payload that cannot be (a function or a symbol among
 * the principal's claims or in a bound value) is CONFIG_INVALID at that value's path
 * (`principal.hook`, `params[0]`, `query.where.eq[1]`), not retryable; the message names its
 * kind, never its content (V8's own message quotes a function's source).
 */
export function encodePayload(p: CallPayload): string {
  try {
    return serialize(p).toString('base64');
  } catch {
    throw unserializable('CONFIG_INVALID', p, '', "the call's", "cannot be sent to a remote worker (a job's payload is V8-serialized)");
  }
}

/** What V8 could not serialize in `root`, at its path and by its kind, never its content; not retryable. */
function unserializable(code: 'CONFIG_INVALID' | 'SOURCE_BAD_RESPONSE', root: unknown, prefix: string, whose: string, why: string): TributaryError {
  const found = findUnserializable(root, prefix) ?? { path: prefix === '' ? '(root)' : prefix, kind: 'a value' };
  const message = `${found.kind} ${why}`;
  return new TributaryError(code, `${whose} ${found.path}: ${message}`, { retryable: false, issues: [{ path: found.path, message }] });
}

export const decodePayload = (s: string): CallPayload => deserialize(Buffer.from(s, 'base64')) as CallPayload;

/**
 * Rows → gzipped chunks of at most `chunkBytes` each. Rows V8 cannot serialize (a custom
 * source's row holding a function or a symbol) are SOURCE_BAD_RESPONSE at the value's path
 * (`rows[3].fn`), not retryable; the message names its kind, never its content.
 */
export function encodeRows(rows: Row[], chunkBytes: number): Buffer[] {
  if (rows.length === 0) return [];
  let serialized: Buffer;
  try {
    serialized = serialize(rows);
  } catch {
    throw unserializable('SOURCE_BAD_RESPONSE', rows, 'rows', "the source's", 'cannot be sent from a remote worker (rows are V8-serialized)');
  }
  const packed = gzipSync(serialized, { level: 1 });
  const chunks: Buffer[] = [];
  for (let at = 0; at < packed.length; at += chunkBytes) chunks.push(packed.subarray(at, at + chunkBytes));
  return chunks;
}

/**
 * Gzipped chunks → rows. `maxBytes` (the call's) caps the gunzipped size, with room for the
 * serialized form (as the run store's rows): rows past it fail LIMIT_EXCEEDED, whatever the
 * worker that stored them did with its limits — no decompression bomb.
 */
export function decodeRows(chunks: Buffer[], maxBytes?: number): Row[] {
  if (chunks.length === 0) return [];
  const maxOutputLength = maxBytes === undefined ? undefined : Math.max(1 << 20, maxBytes * 4);
  let raw: Buffer;
  try {
    raw = gunzipSync(Buffer.concat(chunks), maxOutputLength === undefined ? {} : { maxOutputLength });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new TributaryError('LIMIT_EXCEEDED', `a remote worker stored rows of more than ${maxOutputLength} bytes serialized, past maxBytes=${maxBytes}`, { retryable: false, cause: error });
    }
    throw new TributaryError('SOURCE_BAD_RESPONSE', `a remote worker stored rows that cannot be decoded: ${(error as Error).message}`, { retryable: false, cause: error });
  }
  let rows: unknown;
  try {
    rows = deserialize(raw);
  } catch (error) {
    throw new TributaryError('SOURCE_BAD_RESPONSE', `a remote worker stored rows that cannot be decoded: ${(error as Error).message}`, { retryable: false, cause: error });
  }
  if (!Array.isArray(rows)) throw new TributaryError('SOURCE_BAD_RESPONSE', 'a remote worker stored something that is not an array of rows', { retryable: false });
  return rows as Row[];
}

/**
 * Classifies an error where it happened (the worker has the driver's own error), with the
 * same classifier as the in-process pipeline (`classifyError`). Its message is masked with the
 * call's `values` (see value-mask.ts): a failed job's reason is kept in Redis and shown by every
 * BullMQ dashboard, so the driver's words (which echo bound values) never leave the worker.
 */
export function toRemoteFailure(error: unknown, source: SourceExecutor | undefined, worker: string, values: readonly unknown[] = [], query?: unknown): RemoteFailure {
  const classified = classifyError(error, source);
  return { tributary: 1, ...classified, message: createValueMask(values, query)(classified.message), worker };
}

/** Parses a failed job's reason; `undefined` when BullMQ itself failed the job (e.g. stalled). */
export function parseRemoteFailure(reason: string | undefined): RemoteFailure | undefined {
  if (!reason?.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(reason) as Partial<RemoteFailure>;
    return parsed.tributary === 1 ? (parsed as RemoteFailure) : undefined;
  } catch {
    return undefined;
  }
}
