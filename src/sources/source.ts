import type { ZodType } from 'zod';
import type { Row } from '../data/row.js';

/** Who asks: scopes the cache and the quotas. */
export interface Principal {
  id: string;
  [claim: string]: unknown;
}

/** Hears that a call was aborted (see `ExecuteContext.onAbort`). */
export interface AbortListener {
  aborted(reason: unknown): void;
}

/** What a source gets with each call besides its native query. */
export interface ExecuteContext {
  /**
   * The query's `params` with every `{ $from }` / `{ $param }` reference resolved: a bound
   * list arrives as a JS array, which the connector must send as bound parameters (never
   * spliced into the query text).
   */
  params: unknown[];
  /** Fires on timeout, cancel, fail-fast and executor.close: stop the work, on the server too. */
  signal: AbortSignal;
  /**
   * True once `signal` has fired. tributary's own contexts answer it without creating the
   * signal (an AbortController per call is a measurable share of a fast call): a connector
   * that only needs to know, not to listen, reads `ctx.aborted ?? ctx.signal.aborted`.
   */
  readonly aborted?: boolean;
  principal?: Principal;
  /**
   * Calls `listener.aborted(reason)` once when the call is aborted — at once if it already
   * was — until `offAbort(listener)`. tributary's own contexts do it without creating
   * `signal` (an AbortController and an EventTarget listener pair is a measurable share of a
   * point query); a connector on the hot path prefers it and falls back to `signal` when a
   * context has no `onAbort` (see `AbortWatch` in sources/sql/abort-watch.ts).
   */
  onAbort?(listener: AbortListener): void;
  offAbort?(listener: AbortListener): void;
  /** The fragment this call serves; for error messages and events. */
  fragmentId?: string;
  /**
   * True when the caller consumes rows as they arrive (`run.rows()`): a connector that can
   * should then return an `AsyncIterable<Row[]>` (a cursor, a row stream, page by page),
   * pulling the next batch only when the previous one was taken. False or absent: an array
   * is as good.
   */
  stream?: boolean;
  /**
   * The time this call has, in milliseconds from when `execute` is called: the least of the
   * attempt's timeout, the fragment's deadline and the query's deadline (for a streaming
   * call, the deadlines only). Absent: no limit. tributary aborts `signal` when it runs out
   * anyway; a connector that can also hands it to the server (PostgreSQL
   * `statement_timeout`, MariaDB `max_statement_time`, an HTTP header), so the work stops
   * even if this process dies.
   */
  budgetMs?: number;
  /**
   * Row and byte bounds a connector should enforce while fetching (LIMIT_EXCEEDED). One that
   * does not is held to them anyway: the executor counts a lone call's returned rows.
   */
  limits?: { maxRows?: number; maxBytes?: number };
  /**
   * For a source that runs the call elsewhere (`remoteSource`): says which worker ran this
   * attempt, as a `fragment.remote` event.
   */
  onRemote?(info: { worker: string; jobId: string }): void;
  /**
   * A name for this call that its statement carries to the server (MariaDB: a comment), so
   * that any process can find it there and stop it with `SourceExecutor.stopTagged`: a BullMQ
   * worker passes its job id. Letters, digits and `-` only (1–64); other tags are ignored.
   */
  callTag?: string;
}

/**
 * The port every connector implements: one `execute(query, ctx)` call, plus optional
 * lifecycle and policy hooks. `querySchema` checks a fragment's native query before
 * anything runs.
 */
export interface SourceExecutor<Q = any> {
  /** `sqlite`, `postgres`, `mysql`, `http`, `memory`, or a custom name. */
  kind: string;
  querySchema: ZodType<Q>;
  execute(query: Q, ctx: ExecuteContext): Promise<Row[]> | AsyncIterable<Row[]>;
  /** Most calls this source runs at once (its lane size). Default: unbounded. */
  maxConcurrency?: number;
  /**
   * Row and byte bounds of each fragment on this source, all its batches together (the
   * built-in connectors: their `maxRows` / `maxBytes` options, when given). The run's bounds
   * (the executor's `rowLimits`, the plan's `limits`) tighten them; a byte bound neither this
   * nor the executor sets is the default, 64 MiB (`DEFAULT_FRAGMENT_MAX_BYTES`). `Infinity`:
   * no bound (lifts the default). The executor counts them over the fragment's batches and
   * passes them in `ctx.limits`, which a connector enforces while fetching.
   */
  limits?: { maxRows?: number; maxBytes?: number };
  /** Most calls waiting for this source's lane before more are shed (SOURCE_UNAVAILABLE); overrides the executor's `maxQueued`. */
  maxQueued?: number;
  /**
   * `true`: this source's calls run on the executor's BullMQ workers (`createExecutor({ remote })`)
   * even when `remote.sources` does not list its name. An executor without `remote` refuses it
   * (CONFIG_INVALID); a worker (`createWorker`) ignores it and runs the source itself.
   */
  remote?: boolean;
  /** Longest wait for this source's lane, in ms; overrides the executor's `maxQueueMs`. */
  maxQueueMs?: number;
  /**
   * True when running `query` twice is harmless (it only reads): such a call may be hedged
   * (`hedge`) and is retried after any retryable failure; false: never hedged, and retried only
   * after a failure that shows it had no effect (execution/retry-safety.ts), unless a fragment
   * declares `hedge: { idempotent: true }` or `retry: { idempotent: true }`. A source without it
   * is hedged whenever `hedge` is on and retried as a read: a custom source that can write
   * should say which calls only read. (Every built-in connector implements it.)
   */
  isReadOnly?(query: Q): boolean;
  /**
   * Part of the cache key: bump it when the data behind the source changes shape. Asked again
   * by every run (once per source), so keep it cheap: a string, or a memoized promise.
   */
  version?(): string | Promise<string>;
  /** Releases pools and handles; called once by `executor.close()`. Idempotent. */
  close?(): Promise<void>;
  /** Default `'principal'`: cached entries never cross principals. */
  cacheScope?: 'principal' | 'shared';
  /** Default: the error's own `retryable`, then well-known network error codes. */
  isRetryable?(error: unknown): boolean;
  /**
   * Stops, on the server, the statements still running for the call tagged `tag`
   * (`ExecuteContext.callTag`), whichever process sent them (one that died): how many it
   * stopped. Runs as `principal`'s account where the source has one per principal.
   */
  stopTagged?(tag: string, ctx: { principal?: Principal }): Promise<number>;
  /**
   * True when a streamed call names its columns (`withColumns`) before its first row, or with
   * a first batch that comes at once: a streamed `union` then holds its other inputs' rows
   * until this input has named them, so every row carries every input's columns. The
   * built-in SQL and memory connectors set it; leave it out when a first batch may be slow
   * to come (an HTTP page) — the union then does not wait for it.
   */
  namesColumnsFirst?: boolean;
}

/** Node and undici error codes of a connection that failed or broke: worth another try. */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * The default retry classification: an error's own `retryable` flag, then network codes,
 * then the same down its cause chain (at most 8 links deep, so a chain that loops ends).
 * It never throws: a getter that throws reads as "not retryable".
 */
export function defaultIsRetryable(error: unknown): boolean {
  return retryableAt(error, 0);
}

function retryableAt(error: unknown, depth: number): boolean {
  if (typeof error !== 'object' || error === null || depth > 8) return false;
  try {
    const e = error as { retryable?: unknown; code?: unknown; cause?: unknown };
    if (typeof e.retryable === 'boolean') return e.retryable;
    if (typeof e.code === 'string' && NETWORK_ERROR_CODES.has(e.code)) return true;
    const cause = e.cause;
    return cause !== undefined && cause !== error && retryableAt(cause, depth + 1);
  } catch {
    return false;
  }
}
