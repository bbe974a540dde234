import type { Row } from '../../data/row.js';
import { decodeUtf8, readBody, readSnippet } from './body.js';
import { badResponse, networkError, statusError } from './errors.js';
import type { LimitCounter } from '../../data/limits.js';
import { resolvePointer } from './pointer.js';
import type { HttpRequest } from './request.js';
import { parseJsonBody } from '../../data/json.js';
import { describeCall } from './where.js';
import { requestRedactor } from './error-detail.js';
import { redirectTarget } from './redirect.js';
import { TributaryError } from '../../errors.js';
import { hadNoEffect } from '../../execution/retry-safety.js';

/** One response, reduced to what the page loop needs. */
export interface Page {
  rows: Row[];
  /** The parsed body, for cursor pointers. */
  body: unknown;
  headers: Headers;
  /** Where the response came from, to resolve relative Link URLs. */
  url: URL;
}

/** What fetchPage needs besides the request. */
export interface FetchPageContext {
  fetch: typeof globalThis.fetch;
  signal: AbortSignal;
  budget: LimitCounter;
  /** JSON pointer to the rows array; `undefined` means the body itself. */
  rows: string | undefined;
  /** The values of the headers the source and the query set (keys, tokens): masked in error excerpts. */
  headerValues: readonly string[];
  /** The source's baseUrl: a redirect is followed only under it. */
  baseUrl: URL;
  /** Counts the request a redirect leads to (maxRequests); throws past the cap. */
  countRedirect(): void | Promise<void>;
  /** Sets what each hop's request carries as it is sent (the budget header, the time left then). */
  stamp?(request: HttpRequest): HttpRequest;
}

/**
 * Sends one request and returns its rows, following the redirects `redirectTarget` allows
 * (each one more request, counted by `countRedirect`, stamped by `stamp` as it goes).
 */
export async function fetchPage(first: HttpRequest, ctx: FetchPageContext): Promise<Page> {
  const hops = { ran: false };
  try {
    return await followHops(first, ctx, hops);
  } catch (error) {
    // A POST answered 303 (or 301/302, followed as a GET) was done: what its GET met (a 429,
    // a refused connect) says nothing of the POST, which may not be sent again for it.
    throw hops.ran ? mayHaveRun(error) : error;
  }
}

/**
 * The error as one of a call that may have run though it says it had no effect (its own
 * request refused, while another request of the call was done): noEffect false, so a call that
 * may write is not sent again for it. Any other error is returned as it is.
 */
export function mayHaveRun(error: unknown): unknown {
  if (!(error instanceof TributaryError) || !hadNoEffect(error)) return error;
  return new TributaryError(error.code, error.message, { cause: error, issues: error.issues, retryable: error.retryable, driverCode: error.driverCode, retryAfterMs: error.retryAfterMs, noEffect: false });
}

async function followHops(first: HttpRequest, ctx: FetchPageContext, hops: { ran: boolean }): Promise<Page> {
  let request = first;
  for (let hop = 0; ; hop++) {
    // Stamped per hop: a redirect target is built from the request as given, not as last sent.
    const { method, url, headers, body } = ctx.stamp ? ctx.stamp(request) : request;
    const where = describeCall(method, url);
    let response: Response;
    try {
      response = await ctx.fetch(url, { method, headers, body, signal: ctx.signal, redirect: 'manual' });
    } catch (error) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      throw networkError(error, where);
    }
    if (response.status >= 300 && response.status < 400) {
      const next = redirectTarget(response, request, hop, ctx.baseUrl, where);
      if (next !== undefined) {
        await ctx.countRedirect();
        ctx.signal.throwIfAborted();
        // Turned into a GET: the server acted on the request it redirected (Post/Redirect/Get).
        if (next.method !== request.method) hops.ran = true;
        request = next;
        continue;
      }
    }
    if (!response.ok) {
      const detail = await readSnippet(response, requestRedactor(ctx.headerValues));
      ctx.signal.throwIfAborted();
      throw statusError(response, where, detail);
    }
    return toPage(response, url, where, ctx);
  }
}

/**
 * The body's first characters that V8's JSON.parse quotes in its message (`Unexpected token
 * 'b', "bad key k-"... is not valid JSON`): left out of the error, which reaches every watcher,
 * as a server that echoes the request (a key, a token) in a non-JSON body would show them.
 */
const QUOTED_BODY = /, (?:\.\.\.)?"[\s\S]*"(?:\.\.\.)? is not valid JSON$/;

async function toPage(response: Response, url: URL, where: string, ctx: FetchPageContext): Promise<Page> {
  const bytes = await readBody(response, ctx.budget, ctx.signal, where);
  if (response.status === 204 || response.status === 205) {
    return { rows: [], body: undefined, headers: response.headers, url };
  }
  let body: unknown;
  try {
    body = parseJsonBody(decodeUtf8(bytes, where));
  } catch (error) {
    // The exact parse of a body with a 64-bit integer recurses once per level of nesting:
    // a hostile body thousands of levels deep overflows the stack.
    if (error instanceof RangeError) throw badResponse(`${where} sent a body nested too deeply to read (${error.message})`, error);
    if (!(error instanceof SyntaxError)) throw error;
    throw badResponse(`${where} sent a body that is not JSON (${error.message.replace(QUOTED_BODY, '')})`, error);
  }
  const rows = extractRows(body, ctx.rows, where);
  ctx.budget.addCount(rows.length);
  return { rows, body, headers: response.headers, url };
}

/**
 * The rows array at `pointer`, each a plain object. The parse (`parseJsonBody`) makes own
 * data properties with Object.prototype, so rows are used as parsed: copying them key by key
 * is where a `__proto__` key could change a prototype.
 */
export function extractRows(body: unknown, pointer: string | undefined, where: string): Row[] {
  const found = pointer === undefined ? body : resolvePointer(body, pointer);
  const at = pointer === undefined ? 'the body' : `rows pointer ${JSON.stringify(pointer)}`;
  if (found === undefined) throw badResponse(`${where}: ${at} is missing from the response`);
  if (!Array.isArray(found)) {
    const hint = pointer === undefined ? ' (set `rows` to the JSON pointer of the rows array)' : '';
    throw badResponse(`${where}: ${at} is ${describe(found)}, not an array of rows${hint}`);
  }
  for (const [i, row] of found.entries()) {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw badResponse(`${where}: row ${i} is ${describe(row)}, not an object`);
    }
  }
  return found as Row[];
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
