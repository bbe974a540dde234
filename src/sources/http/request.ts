import { Decimal } from 'decimal.js';
import { stringify as stringifyExactly } from 'lossless-json';
import { TributaryError } from '../../errors.js';
import { DOT_SEGMENT, PLACEHOLDER, type HttpQuery } from './query.js';

/**
 * Turns a resolved query (references replaced by values) into the concrete requests to
 * send: fills the path template, encodes search params, and expands bound lists.
 */

/** One concrete request. */
export interface HttpRequest {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body: string | undefined;
}

type Values = Record<string, unknown>;

/** The default for `list`: one request per value, which any API accepts. */
export const DEFAULT_LIST_MODE = 'each';

/**
 * The requests for one call, in bound-list order. With `list: 'each'` (default) the one
 * parameter holding a list is expanded into one request per distinct value; with `'comma'`
 * every list becomes one comma-joined value. A list filters like SQL's IN: its nulls match
 * nothing and are left out, and a list with nothing left means nothing can match: no requests.
 */
export function buildRequests(query: HttpQuery, baseUrl: URL, sourceHeaders: Record<string, string>): HttpRequest[] {
  const pathParams = withoutUnmatchable(query.pathParams ?? {}, true);
  const searchParams = withoutUnmatchable(query.searchParams ?? {}, false);
  const lists = [
    ...Object.entries(pathParams).map(([k, v]) => ({ where: 'pathParams', key: k, value: v })),
    ...Object.entries(searchParams).map(([k, v]) => ({ where: 'searchParams', key: k, value: v })),
  ].filter((p): p is { where: string; key: string; value: unknown[] } => Array.isArray(p.value));
  if (lists.some((l) => l.value.length === 0)) return [];
  const headers = requestHeaders(sourceHeaders, query);
  const body = encodeBody(query.body);
  const make = (path: Values, search: Values): HttpRequest => ({
    method: query.method ?? 'GET',
    url: buildUrl(baseUrl, query.path, path, search),
    headers,
    body,
  });
  if ((query.list ?? DEFAULT_LIST_MODE) === 'comma' || lists.length === 0) return [make(pathParams, searchParams)];
  const [list, ...others] = lists;
  if (list === undefined || others.length > 0) {
    const names = lists.map((l) => `${l.where}.${l.key}`).join(', ');
    throw failed(`list: 'each' expands one bound list per call, but ${names} are lists; bind one or use list: 'comma'`);
  }
  const requests = list.value.map((value) =>
    list.where === 'pathParams'
      ? make({ ...pathParams, [list.key]: value }, searchParams)
      : make(pathParams, { ...searchParams, [list.key]: value }),
  );
  // A value listed twice (2 and 2, or 1 and '1') is the same request: sent twice, its rows would come back twice.
  const seen = new Set<string>();
  return requests.filter((request) => !seen.has(request.url.href) && seen.add(request.url.href));
}

/**
 * The params with what can match nothing taken out of every list: null and undefined (a
 * request without the search param, what a lone null means, would match everything) and,
 * in path params, the empty string (`/items/{id}` would become `/items/`, the collection).
 * Scalars stay: a null search param is an absent param, an empty path param is refused.
 */
function withoutUnmatchable(params: Values, path: boolean): Values {
  const out: Values = {};
  const matchable = (v: unknown) => v !== null && v !== undefined && !(path && v === '');
  for (const [key, value] of Object.entries(params)) {
    const kept = Array.isArray(value) ? value.filter(matchable) : value;
    // defineProperty: a `__proto__` param name stays a param, never a prototype.
    Object.defineProperty(out, key, { value: kept, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** baseUrl + the filled path + search params; values cannot change the path or the origin. */
export function buildUrl(baseUrl: URL, template: string, pathParams: Values, searchParams: Values): URL {
  const path = template.replace(PLACEHOLDER, (_match, name: string) => {
    if (!Object.hasOwn(pathParams, name)) throw failed(`path placeholder {${name}} has no value in pathParams`);
    const value = pathParams[name];
    const parts = (Array.isArray(value) ? value : [value]).map((v) => scalarText(v, `pathParams.${name}`, true));
    // A comma inside one of several values: an API that decodes the path before it splits it
    // could not tell it from the separator (as in a search param, below).
    const ambiguous = parts.length > 1 ? parts.find((t) => t.includes(',')) : undefined;
    if (ambiguous !== undefined) throw failed(`pathParams.${name}: the value ${JSON.stringify(ambiguous)} holds a comma, which a comma-joined list cannot tell from the separator; use list: 'each'`);
    // Each value is encoded on its own, so "/", "?", "#" and "%" stay data; the joining comma is literal.
    const text = parts.map(encodeURIComponent).join(',');
    // An empty segment addresses another resource: "/items/{id}" becomes the collection "/items/".
    if (text === '') throw failed(`pathParams.${name} is empty: the path would be ${JSON.stringify(template.replace(PLACEHOLDER, (m, n: string) => (n === name ? '' : m)))}, another resource`);
    return text;
  });
  // encodeURIComponent leaves "." alone, so a value of ".." could still climb the path.
  if (DOT_SEGMENT.test(path)) {
    throw failed(`path ${JSON.stringify(path)} has a "." or ".." segment after filling pathParams`);
  }
  const url = new URL(baseUrl.href.replace(/\/+$/, '') + path);
  for (const [key, value] of Object.entries(searchParams)) {
    if (value === null || value === undefined) continue; // an absent value is an absent parameter
    const texts = (Array.isArray(value) ? value : [value]).map((v) => scalarText(v, `searchParams.${key}`, false));
    // A comma inside one of several values could not be told from the separator by the API.
    const ambiguous = texts.length > 1 ? texts.find((t) => t.includes(',')) : undefined;
    if (ambiguous !== undefined) throw failed(`searchParams.${key}: the value ${JSON.stringify(ambiguous)} holds a comma, which a comma-joined list cannot tell from the separator; use list: 'each'`);
    url.searchParams.set(key, texts.join(','));
  }
  if (url.origin !== baseUrl.origin) throw failed(`path ${JSON.stringify(template)} leaves ${baseUrl.origin}`);
  // However the parser read it, the request stays under the baseUrl's own path.
  if (leavesBase(baseUrl, url)) throw failed(`path ${JSON.stringify(template)} leaves ${baseUrl.href.replace(/\/+$/, '')}/ (it resolves to ${url.pathname})`);
  return url;
}

/** True when `url`'s path is not the baseUrl's own path or under it. */
export function leavesBase(baseUrl: URL, url: URL): boolean {
  const base = baseUrl.pathname.replace(/\/+$/, '');
  return url.pathname !== base && !url.pathname.startsWith(`${base}/`);
}

/** Source headers, then the query's (case-insensitively overriding), plus JSON defaults. */
function requestHeaders(sourceHeaders: Record<string, string>, query: HttpQuery): Record<string, string> {
  const headers = new Headers({ accept: 'application/json' });
  if (query.body !== undefined) headers.set('content-type', 'application/json');
  for (const [k, v] of Object.entries(sourceHeaders)) headers.set(k, v);
  for (const [k, v] of Object.entries(query.headers ?? {})) headers.set(k, v);
  return Object.fromEntries(headers);
}

/**
 * The body as JSON text. lossless-json writes what JSON.stringify writes, except that a
 * bigint (a run param kept exact) becomes its exact JSON number instead of a TypeError.
 */
function encodeBody(body: unknown): string | undefined {
  if (body === undefined) return undefined;
  try {
    return stringifyExactly(body);
  } catch (error) {
    throw failed(`body cannot be sent as JSON: ${error instanceof Error ? error.message : String(error)}`, error);
  }
}

/** A UTF-16 surrogate with no partner (`u` flag: a well-formed pair is one code point, never matched). */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** The text of one bound value; objects have no agreed URL form, so they are refused. */
function scalarText(value: unknown, where: string, required: boolean): string {
  switch (typeof value) {
    case 'string':
      // No UTF-8 spells it: encodeURIComponent throws a URIError, and URLSearchParams would
      // silently send U+FFFD instead, asking the API for another value.
      if (LONE_SURROGATE.test(value)) throw failed(`${where} holds a lone UTF-16 surrogate (U+D800–U+DFFF), which no URL can carry`);
      return value;
    case 'number':
      // Plain digits, as an API reads a number in a URL: 1e23 and 1e-7 are what String() gives.
      return Number.isFinite(value) && /e/i.test(String(value)) ? new Decimal(value).toFixed() : String(value);
    case 'bigint':
    case 'boolean':
      return String(value);
    default:
      if (value instanceof Date) return value.toISOString();
      if ((value === null || value === undefined) && !required) return '';
      throw failed(`${where} must be a string, number or boolean, got ${value === null ? 'null' : typeof value}`);
  }
}

function failed(message: string, cause?: unknown): TributaryError {
  return new TributaryError('FRAGMENT_FAILED', message, { retryable: false, ...(cause === undefined ? {} : { cause }) });
}
