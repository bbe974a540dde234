import type { Row } from '../../data/row.js';
import { badResponse } from './errors.js';
import type { Page } from './fetch.js';
import { limitExceeded } from '../../data/limits.js';
import { resolvePointer } from './pointer.js';
import type { HttpPaginate } from './query.js';
import { leavesBase, type HttpRequest } from './request.js';
import { describeUrl } from './where.js';

/** Default bound on the requests of one page loop. */
export const DEFAULT_MAX_PAGES = 100;

/** What the page loop needs: how to fetch one page, and its bounds. */
export interface PageLoopContext {
  fetchPage(request: HttpRequest): Promise<Page>;
  /** Most requests one loop makes; when the last still says "more", LIMIT_EXCEEDED. */
  maxPages: number;
  fragmentId: string | undefined;
  /** The source's baseUrl: a Link rel="next" is followed only under it. */
  baseUrl: URL;
}

/**
 * The rows of each page, in order. An async generator so a caller can stream pages; the
 * loop stops after a page that says "no more", and throws LIMIT_EXCEEDED (without sending
 * it) when more would take request number maxPages + 1.
 */
export async function* pages(
  first: HttpRequest,
  paginate: HttpPaginate | undefined,
  ctx: PageLoopContext,
): AsyncGenerator<Row[], void, undefined> {
  let request = paginate === undefined ? first : firstRequest(first, paginate);
  // A cursor or a Link that leads back to a page already read would read it again (its rows
  // twice) until maxPages: the API is looping, so the call fails at once instead.
  const seen = paginate?.type === 'cursor' || paginate?.type === 'link' ? new Set<string>([request.url.href]) : undefined;
  for (let sent = 1; ; sent++) {
    const page = await ctx.fetchPage(request);
    yield page.rows;
    const next = paginate === undefined ? undefined : nextRequest(first, request, page, paginate, ctx.baseUrl);
    if (next === undefined) return;
    if (seen) {
      if (seen.has(next.url.href)) throw badResponse(`${describeUrl(request.url)}: pagination (${paginate!.type}) does not advance: its next page is ${describeUrl(next.url)}, already read`);
      seen.add(next.url.href);
    }
    if (sent >= ctx.maxPages) {
      const type = paginate?.type ?? 'none';
      throw limitExceeded({ fragmentId: ctx.fragmentId }, `pagination (${type}) has more than maxPages=${ctx.maxPages} pages`);
    }
    request = next;
  }
}

function firstRequest(first: HttpRequest, paginate: HttpPaginate): HttpRequest {
  switch (paginate.type) {
    case 'cursor':
    case 'link':
      return first;
    case 'page':
      return withParams(first, {
        [paginate.param]: String(paginate.start ?? 1),
        ...(paginate.size ? { [paginate.size.param]: String(paginate.size.value) } : {}),
      });
    case 'offset':
      return withParams(first, { [paginate.param]: '0', [paginate.limitParam]: String(paginate.limit) });
    default:
      return paginate satisfies never;
  }
}

/** The request for the page after `page`, or `undefined` when `page` was the last. */
function nextRequest(first: HttpRequest, current: HttpRequest, page: Page, paginate: HttpPaginate, baseUrl: URL): HttpRequest | undefined {
  switch (paginate.type) {
    case 'cursor': {
      const cursor = resolvePointer(page.body, paginate.cursor);
      if (cursor === undefined || cursor === null || cursor === '') return undefined;
      if (typeof cursor !== 'string' && typeof cursor !== 'number') {
        throw badResponse(`${describeUrl(current.url)}: the cursor at ${paginate.cursor} is not a string or number`);
      }
      return withParams(first, { [paginate.param]: String(cursor) });
    }
    case 'page': {
      if (page.rows.length === 0) return undefined;
      const n = Number(current.url.searchParams.get(paginate.param)) + 1;
      return withParams(current, { [paginate.param]: String(n) });
    }
    case 'offset': {
      if (page.rows.length < paginate.limit) return undefined;
      const offset = Number(current.url.searchParams.get(paginate.param)) + page.rows.length;
      return withParams(current, { [paginate.param]: String(offset) });
    }
    case 'link': {
      const href = nextLink(page.headers.get('link'));
      if (href === undefined) return undefined;
      if (!URL.canParse(href, page.url.href)) throw badResponse(`${describeUrl(current.url)}: Link rel="next" points to ${JSON.stringify(href)}, which is no URL`);
      const url = new URL(href, page.url);
      // The next request carries this source's headers (API keys): never to another origin.
      if (url.origin !== first.url.origin) {
        throw badResponse(`${describeUrl(current.url)}: Link rel="next" points to another origin (${url.origin}); not followed`);
      }
      // Nor out of the baseUrl's path, where a query's own path may not go either.
      if (leavesBase(baseUrl, url)) throw badResponse(`${describeUrl(current.url)}: Link rel="next" points to ${url.pathname}, outside ${baseUrl.href.replace(/\/+$/, '')}/; not followed`);
      return { ...current, url };
    }
    default:
      return paginate satisfies never;
  }
}

function withParams(request: HttpRequest, params: Record<string, string>): HttpRequest {
  const url = new URL(request.url);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return { ...request, url };
}

/**
 * The target of the `rel="next"` link in an RFC 8288 `Link` header. The URL sits in <…>,
 * so it may contain commas and semicolons; rel may list several space-separated types.
 */
export function nextLink(header: string | null): string | undefined {
  if (header === null) return undefined;
  for (const match of header.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]*)*)/g)) {
    const params = match[2] ?? '';
    for (const param of params.matchAll(/;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/gi)) {
      const rels = (param[1] ?? param[2] ?? '').toLowerCase().split(/\s+/);
      if (rels.includes('next')) return match[1];
    }
  }
  return undefined;
}
