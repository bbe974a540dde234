import { TributaryError } from '../errors.js';
import type { SourceExecutor } from '../sources/source.js';
import { decodePayload, type CallPayload } from './codec.js';
import { applyChunkKinds } from './chunk-kinds.js';

/**
 * What a worker checks of a job before its source sees it, as a coordinator checks a plan:
 * a job is data from Redis, and one that is malformed (another version, a bug, a job made by
 * hand) fails with a non-retryable error naming what is wrong — the source is never called
 * with it. The query is passed on as it came: it was validated with the plan, and its
 * references have since been resolved to values (bigint, Date, …) that the plan's schema does
 * not take, so its source's `querySchema` cannot check it again. @internal
 */

/** The worker's own source of that name: SOURCE_UNKNOWN otherwise (never one of Object.prototype's). */
export function jobSource(sources: Record<string, SourceExecutor>, name: unknown, worker: string): SourceExecutor {
  const source = typeof name === 'string' && Object.hasOwn(sources, name) ? sources[name] : undefined;
  if (source) return source;
  throw new TributaryError('SOURCE_UNKNOWN', `worker ${worker} has no source named ${JSON.stringify(String(name))}`, { retryable: false });
}

const invalid = (path: string, message: string): TributaryError =>
  new TributaryError('PLAN_INVALID', `a malformed job: ${path}: ${message}`, { retryable: false, issues: [{ path, message }] });

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const TALLY = /^[A-Za-z0-9-]{1,64}$/;
const isBound = (v: unknown): boolean => v === undefined || (typeof v === 'number' && !Number.isNaN(v) && v >= 0);

/** The job's call, decoded and checked. */
export function checkedPayload(encoded: unknown): CallPayload {
  let payload: unknown;
  try {
    payload = typeof encoded === 'string' ? decodePayload(encoded) : undefined;
  } catch (error) {
    throw invalid('payload', `not a call tributary encoded (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!isObject(payload)) throw invalid('payload', 'expected an encoded { query, params, … }');
  const { params, principal, limits, budgetMs, sentAt, requests, requestCap, chunkKinds } = payload;
  if (!Array.isArray(params)) throw invalid('params', 'expected an array');
  if (principal !== undefined && !(isObject(principal) && typeof principal.id === 'string')) throw invalid('principal', 'expected { id: string, ...claims }');
  if (limits !== undefined && !(isObject(limits) && isBound(limits.maxRows) && isBound(limits.maxBytes))) throw invalid('limits', 'expected { maxRows?, maxBytes? } of numbers');
  // A budget may already be spent (≤ 0): the worker then fails the job TIMEOUT, retryable.
  if (budgetMs !== undefined && !Number.isFinite(budgetMs)) throw invalid('budgetMs', 'expected a number of ms');
  if (sentAt !== undefined && !Number.isFinite(sentAt)) throw invalid('sentAt', 'expected a time in ms');
  if (requests !== undefined && !(Number.isSafeInteger(requests) && (requests as number) >= 0)) throw invalid('requests', 'expected a count of requests');
  // The tally names a Redis key the worker writes: a short token, never a path of its choosing.
  if (requestCap !== undefined && !(isObject(requestCap) && typeof requestCap.max === 'number' && isBound(requestCap.max) && (requestCap.tally === undefined || (typeof requestCap.tally === 'string' && TALLY.test(requestCap.tally))))) {
    throw invalid('requestCap', 'expected { max: a number of requests, tally?: a name of letters, digits and - (1-64) }');
  }
  // Last: it marks the params' chunks (how they are typed), once everything else passed.
  applyChunkKinds(chunkKinds, params);
  return payload as unknown as CallPayload;
}
