import { setMaxListeners } from 'node:events';
import { z } from 'zod';
import { TributaryError } from '../../errors.js';
import { flattenIssues } from '../../zod-issues.js';
import type { ExecuteContext, SourceExecutor } from '../source.js';
import type { Row } from '../../data/row.js';
import { isRetryable } from './errors.js';
import { fetchPage, mayHaveRun } from './fetch.js';
import { linkedController, mapBounded } from './fanout.js';
import { DEFAULT_FRAGMENT_MAX_BYTES, smaller } from '../../data/limits.js';
import { declaredLimits, sourceBoundSchema } from '../options.js';
import { callLimits } from '../call-limits.js';
import { REQUEST_CAP, requestTallyOf } from '../request-tally.js';
import { RequestCap } from './request-cap.js';
import { DEFAULT_MAX_PAGES, pages } from './paginate.js';
import { headersSchema, httpQuerySchema, type HttpQuery } from './query.js';
import { buildRequests, type HttpRequest } from './request.js';
import { sourceHeaders, type HttpHeadersFor } from './principal-headers.js';

export { isRetryable } from './errors.js';
export type { HttpQuery, HttpPaginate } from './query.js';
export type { HttpHeadersFor } from './principal-headers.js';

/** Per-call fan-out when `maxConcurrency` is not set. */
export const DEFAULT_HTTP_CONCURRENCY = 4;
/** Requests one fragment may send in a run (list values and pages, over its calls) when the source does not say. */
export const DEFAULT_HTTP_MAX_REQUESTS = 1000;
/** Bytes of response bodies one fragment may read when neither the source nor the executor says (`DEFAULT_FRAGMENT_MAX_BYTES`). */
export const DEFAULT_HTTP_MAX_BYTES = DEFAULT_FRAGMENT_MAX_BYTES;

const positiveInt = z.number().int().positive();
/** An RFC 9110 token: what a header name may be. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** The header `budgetHeader` defaults to. */
export const DEFAULT_BUDGET_HEADER = 'Request-Timeout';

/** `new URL(text)`, or undefined when the text is no absolute URL. */
function urlOrUndefined(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** The options of `httpSource`, validated when the source is created. */
export const httpSourceOptionsSchema = z.strictObject({
  /** Origin plus an optional path prefix (`https://api.example.com/v2`); no query, hash or credentials. */
  baseUrl: z
    .url({ protocol: /^https?$/, error: 'baseUrl must be an http(s) URL' })
    // These run even when the URL check above failed: a text that is no URL passes them (it is reported once, above).
    .refine((u) => { const url = urlOrUndefined(u); return !url || (url.search === '' && url.hash === ''); }, 'baseUrl may not have a query or hash')
    .refine((u) => { const url = urlOrUndefined(u); return !url || (url.username === '' && url.password === ''); }, 'put credentials in headers, not in baseUrl'),
  /**
   * Sent with every request (e.g. authorization); a query's own headers override them by name.
   * A function `(principal) => headers` gives each principal its own (e.g. forwarding the
   * caller's token); the source's cache scope is then always 'principal'.
   */
  headers: z.union([headersSchema, z.custom<HttpHeadersFor>((v) => typeof v === 'function', 'headers must be an object or a function (principal) => headers')]).optional(),
  /** The source's lane size, and the most requests one call keeps in flight (default 4). */
  maxConcurrency: positiveInt.optional(),
  /** Most rows one fragment may return, over all pages and list values; the run's limits may lower it. `Infinity`/`null`: none. */
  maxRows: sourceBoundSchema,
  /**
   * Most response-body bytes (as read) one fragment may read, every page and list value over
   * all its calls (batches) together: default the executor's `rowLimits.maxBytes`, else
   * 64 MiB; `Infinity`/`null` lifts it. The run's limits may lower it.
   */
  maxBytes: sourceBoundSchema,
  /**
   * Most requests one fragment may send in a run, every list value's (`list: 'each'`) and
   * every page together, over all its calls (batches, retries, hedged calls; default 1000);
   * `Infinity`/`null`: none. A bound list that does not fit beside what the fragment's other
   * calls sent fails its call before any of it is sent (LIMIT_EXCEEDED).
   */
  maxRequests: sourceBoundSchema,
  /** Most requests of one pagination loop (default 100); a query's paginate.maxPages may lower it. */
  maxPages: positiveInt.optional(),
  /** Default 'principal'. Set 'shared' only when every principal sees the same data through `headers`. */
  cacheScope: z.enum(['principal', 'shared']).optional(),
  /**
   * The request header that tells the server how long it has: the call's remaining budget
   * (`ExecuteContext.budgetMs` minus the time already spent) in whole milliseconds, computed
   * for each request (each page, each redirect hop). Default `'Request-Timeout'`; `false` sends none. Overrides a
   * header of the same name from `headers` or the query.
   */
  budgetHeader: z.union([z.string().regex(HEADER_NAME, 'budgetHeader must be an HTTP header name'), z.literal(false)]).optional(),
  /** A fetch implementation to use instead of the global one (tests, proxies, custom agents). */
  fetch: z.custom<typeof globalThis.fetch>((v) => typeof v === 'function', 'fetch must be a function').optional(),
}).refine((o) => typeof o.headers !== 'function' || o.cacheScope !== 'shared', {
  message: "headers per principal answer per principal: the source cannot be cacheScope 'shared'",
  path: ['cacheScope'],
});
export type HttpSourceOptions = z.input<typeof httpSourceOptionsSchema>;

/**
 * Adds the budget header (the call's budget minus the time spent since `startedAt`, whole
 * ms, at least 0) to each request; the request unchanged without a header name or budget.
 */
function withBudgetHeader(name: string | undefined, budgetMs: number | undefined, startedAt: number): (request: HttpRequest) => HttpRequest {
  if (name === undefined || budgetMs === undefined || !Number.isFinite(budgetMs)) return (request) => request;
  return (request) => {
    const left = Math.max(0, Math.floor(budgetMs - (performance.now() - startedAt)));
    return { ...request, headers: { ...request.headers, [name]: String(left) } };
  };
}

/**
 * A source over an HTTP JSON API: a path template, search params, an optional JSON body,
 * a JSON pointer to the rows and pagination. Bound lists fan out to one request per value
 * (`list: 'each'`, default) or travel as one comma-joined value (`list: 'comma'`).
 *
 * @example
 * const github = httpSource({ baseUrl: 'https://api.github.com', headers: { authorization: `Bearer ${token}` } });
 * // query: { path: '/repos/{owner}/issues', pathParams: { owner: { $from: 'repos', column: 'owner' } },
 * //          searchParams: { state: 'open' }, paginate: { type: 'link' } }
 */
export function httpSource(options: HttpSourceOptions): SourceExecutor<HttpQuery> {
  const parsed = httpSourceOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issues = flattenIssues(parsed.error.issues).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
    throw new TributaryError('CONFIG_INVALID', `httpSource: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, {
      issues,
      cause: parsed.error,
    });
  }
  const opts = parsed.data;
  const baseUrl = new URL(opts.baseUrl);
  // Called as a plain function and looked up per call: fetch must not see a foreign `this`,
  // and a global fetch replaced after creation (test stubs) is still honoured.
  const doFetch: typeof globalThis.fetch = (input, init) => (opts.fetch ?? globalThis.fetch)(input, init);
  const concurrency = opts.maxConcurrency ?? DEFAULT_HTTP_CONCURRENCY;
  const maxRequests = opts.maxRequests ?? DEFAULT_HTTP_MAX_REQUESTS;
  const budgetHeader = opts.budgetHeader === false ? undefined : (opts.budgetHeader ?? DEFAULT_BUDGET_HEADER).toLowerCase();
  // Aborted by close(), so calls still running stop instead of outliving the source.
  const lifetime = new AbortController();
  // Every running call listens on it (and stops listening when done): more than ten calls
  // at once is normal, not the leak Node's default MaxListeners warning guesses.
  setMaxListeners(0, lifetime.signal);

  /** What one call sets up: a signal linked to the caller's and the source's, and its budget. */
  async function prepare(query: HttpQuery, ctx: ExecuteContext) {
    if (lifetime.signal.aborted) throw new TributaryError('CLOSED', 'httpSource is closed');
    ctx.signal.throwIfAborted();
    const headers = await sourceHeaders(opts.headers, ctx.principal);
    // The headers function may have taken a while: the call may have ended meanwhile.
    if (lifetime.signal.aborted) throw new TributaryError('CLOSED', 'httpSource was closed during the call');
    ctx.signal.throwIfAborted();
    // Built before any listener is attached: a query that cannot be sent (a null path param,
    // two lists under list: 'each') throws here, and must leave nothing on ctx.signal or on
    // the source's lifetime signal, where a listener would stay until close().
    const requests = buildRequests(query, baseUrl, headers);
    // Its list counted on the fragment's tally (a list that does not fit throws here, with no
    // listener attached yet); what it never sends is given back when the call ends (dispose).
    // (On a remote worker the count is shared in Redis: opening it is a round trip there.)
    const opened = RequestCap.open(maxRequests, requests.length, requestTallyOf(ctx), { fragmentId: ctx.fragmentId, source: 'http' });
    const cap = opened instanceof RequestCap ? opened : await opened;
    const linked = linkedController([ctx.signal, lifetime.signal]);
    const { controller } = linked;
    const dispose = () => (cap.end(), linked.dispose());
    // Each request in flight listens on the call's signal: a maxConcurrency over ten is not
    // the leak Node's default MaxListeners warning guesses either.
    setMaxListeners(Math.max(10, concurrency + 2), controller.signal);
    // maxBytes bounds the response bodies as read (not the rows' estimate): addBytes counts them.
    const budget = callLimits(ctx, { maxRows: opts.maxRows, maxBytes: opts.maxBytes });
    const maxPages = smaller(query.paginate?.maxPages, opts.maxPages ?? DEFAULT_MAX_PAGES) ?? DEFAULT_MAX_PAGES;
    const timed = withBudgetHeader(budgetHeader, ctx.budgetMs, performance.now());
    const headerValues = [...Object.values(headers), ...Object.values(query.headers ?? {})];
    // Requests of this call sent so far (list values, pages): with more than one, a failure of
    // one shows nothing of the others, which may have run (a POST each).
    let sent = 0;
    const loopFor = (request: HttpRequest, requestSignal: AbortSignal) => {
      let first = true; // a list value's first request was counted with the list
      return pages(request, query.paginate, {
        fetchPage: (r) => {
          const counted = cap.send(first);
          first = false;
          sent++;
          const send = () => fetchPage(r, { fetch: doFetch, signal: requestSignal, budget, rows: query.rows, headerValues, baseUrl, countRedirect: () => cap.send(false), stamp: timed });
          return counted === undefined ? send() : counted.then(send);
        },
        maxPages,
        fragmentId: ctx.fragmentId,
        baseUrl,
      });
    };
    const failure = (error: unknown): unknown => {
      if (ctx.signal.aborted) return ctx.signal.reason;
      if (lifetime.signal.aborted) return new TributaryError('CLOSED', 'httpSource was closed during the call', { cause: error });
      return sent > 1 ? mayHaveRun(error) : error;
    };
    return { controller, dispose, loopFor, failure, requests };
  }

  type Call = Awaited<ReturnType<typeof prepare>>;

  /** Every request of `call`, up to `concurrency` at once, their rows in request order. */
  async function collectAll(call: Call): Promise<Row[]> {
    const loopAll = async (request: HttpRequest, requestSignal: AbortSignal): Promise<Row[]> => {
      const rows: Row[] = [];
      // A loop rather than push(...page): spreading a large page overflows the call stack.
      for await (const page of call.loopFor(request, requestSignal)) for (const row of page) rows.push(row);
      return rows;
    };
    const perRequest = await mapBounded(call.requests, concurrency, call.controller.signal, loopAll);
    return perRequest.length === 1 ? (perRequest[0] ?? []) : perRequest.flat();
  }

  async function collect(query: HttpQuery, ctx: ExecuteContext): Promise<Row[]> {
    const call = await prepare(query, ctx);
    try {
      return await collectAll(call);
    } catch (error) {
      throw call.failure(error);
    } finally {
      call.dispose();
    }
  }

  /** Page by page, each page fetched only when the consumer asks (one request; a list fans out whole). */
  async function* stream(query: HttpQuery, ctx: ExecuteContext): AsyncGenerator<Row[]> {
    const call = await prepare(query, ctx);
    try {
      if (call.requests.length !== 1) {
        yield await collectAll(call);
        return;
      }
      for await (const page of call.loopFor(call.requests[0]!, call.controller.signal)) yield page;
    } catch (error) {
      throw call.failure(error);
    } finally {
      call.dispose();
    }
  }

  function execute(query: HttpQuery, ctx: ExecuteContext): Promise<Row[]> | AsyncIterable<Row[]> {
    return ctx.stream ? stream(query, ctx) : collect(query, ctx);
  }

  const source: SourceExecutor<HttpQuery> & { [REQUEST_CAP]: number } = {
    kind: 'http',
    querySchema: httpQuerySchema,
    execute,
    // Its fragments' byte bound is on response bodies as read, which each call counts and
    // reports (callLimits): the executor adds its batches' counts up and estimates no row.
    limits: declaredLimits({ maxRows: opts.maxRows, maxBytes: opts.maxBytes }),
    ...(opts.maxConcurrency === undefined ? {} : { maxConcurrency: opts.maxConcurrency }),
    ...(typeof opts.headers === 'function' ? { cacheScope: 'principal' as const } : opts.cacheScope === undefined ? {} : { cacheScope: opts.cacheScope }),
    version: () => `http:${baseUrl.origin}`,
    close: () => {
      lifetime.abort(new TributaryError('CLOSED', 'httpSource was closed'));
      return Promise.resolve();
    },
    isRetryable,
    // GET reads; a POST may not: not hedged, nor retried where it may have run (a fragment that
    // knows it is safe twice says `hedge` or `retry: { idempotent: true }`).
    isReadOnly: (query: HttpQuery) => (query.method ?? 'GET') === 'GET',
    // What a remote job carries, so its worker holds the fragment to this cap, not its own.
    [REQUEST_CAP]: maxRequests,
  };
  return source;
}
