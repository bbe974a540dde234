import { badResponse } from './errors.js';
import { leavesBase, type HttpRequest } from './request.js';

/**
 * Which redirects httpSource follows, by hand (fetch would carry the source's headers, API
 * keys, wherever a server points): the Fetch standard's redirect statuses, on the baseUrl's
 * origin and under its path (as a query's own path), at most MAX_REDIRECTS in a row.
 */

/** Statuses that redirect (Fetch's "redirect status"); any other 3xx is an answer, not followed. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Most redirects one request follows. */
export const MAX_REDIRECTS = 5;

/**
 * The request `response` redirects `request` to, or `undefined` when it is no redirect (its
 * body left to read); throws SOURCE_BAD_RESPONSE for one not followed. `hop` counts the
 * redirects before it.
 */
export function redirectTarget(response: Response, request: HttpRequest, hop: number, baseUrl: URL, where: string): HttpRequest | undefined {
  const location = response.headers.get('location');
  if (!REDIRECT_STATUSES.has(response.status) || location === null) return undefined;
  // Followed or refused, its body is not read: cancelling frees the connection.
  void response.body?.cancel().catch(() => undefined);
  if (!URL.canParse(location, request.url.href)) throw badResponse(`${where} redirects to ${JSON.stringify(location)}, which is no URL`);
  const url = new URL(location, request.url);
  if (url.origin !== baseUrl.origin) throw badResponse(`${where} redirects to another origin (${url.origin}); not followed`);
  if (leavesBase(baseUrl, url)) throw badResponse(`${where} redirects to ${url.pathname}, outside ${baseUrl.href.replace(/\/+$/, '')}/; not followed`);
  if (hop >= MAX_REDIRECTS) throw badResponse(`${where} redirected more than ${MAX_REDIRECTS} times`);
  // 303, and 301/302 after a POST, turn into a GET without body, as browsers and fetch do:
  // the headers that described the body (Content-Type, …) go with it.
  if (response.status === 303 || (request.method === 'POST' && (response.status === 301 || response.status === 302))) {
    const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !BODY_HEADERS.has(name.toLowerCase())));
    return { method: 'GET', url, headers, body: undefined };
  }
  return { ...request, url };
}

/** Fetch's "request-body-header names": dropped when a redirect drops the body. */
const BODY_HEADERS = new Set(['content-encoding', 'content-language', 'content-location', 'content-type']);
