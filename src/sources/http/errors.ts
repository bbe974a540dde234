import { TributaryError, type ErrorCode } from '../../errors.js';
import { NETWORK_ERROR_CODES, defaultIsRetryable } from '../source.js';

/**
 * How httpSource turns HTTP statuses and fetch failures into TributaryErrors. The table is
 * the single place that decides what is worth retrying.
 */

/** One row of the status table: the error code and whether trying again may help. */
export interface StatusClass {
  code: ErrorCode;
  retryable: boolean;
}

/**
 * Statuses with their own classification; any other 4xx or 5xx falls back to
 * FRAGMENT_FAILED, not retryable. 500 stays there on purpose: it usually means this request
 * trips a server bug, and repeating it only adds load; a server that is merely overloaded
 * says 503 (with Retry-After), which is retried.
 */
export const HTTP_STATUS_TABLE: Readonly<Record<number, StatusClass>> = {
  408: { code: 'SOURCE_UNAVAILABLE', retryable: true }, // Request Timeout: RFC 9110 allows a repeat
  429: { code: 'SOURCE_UNAVAILABLE', retryable: true }, // Too Many Requests
  502: { code: 'SOURCE_UNAVAILABLE', retryable: true }, // Bad Gateway
  503: { code: 'SOURCE_UNAVAILABLE', retryable: true }, // Service Unavailable
  504: { code: 'SOURCE_UNAVAILABLE', retryable: true }, // Gateway Timeout
};

/**
 * Statuses by which a server says it did not act on the request (RFC 9110 408: it never got
 * all of it; RFC 6585 429: refused for the rate), so a POST may be sent again.
 */
export const UNPROCESSED_STATUSES: ReadonlySet<number> = new Set([408, 429]);

const FALLBACK: StatusClass = { code: 'FRAGMENT_FAILED', retryable: false };

/** The classification of a non-2xx status: the table entry or FRAGMENT_FAILED, not retryable. */
export function classifyStatus(status: number): StatusClass {
  return HTTP_STATUS_TABLE[status] ?? FALLBACK;
}

/**
 * The longest wait a timer can hold (2^31 - 1 ms, about 24.8 days): past it Node fires the
 * timer after 1 ms, so an answer asking for more would be retried at once.
 */
export const MAX_RETRY_AFTER_MS = 2 ** 31 - 1;

/**
 * `Retry-After` in ms: delta-seconds (`120`) or an HTTP date, never negative and at most
 * MAX_RETRY_AFTER_MS; `undefined` when absent or unparseable.
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(MAX_RETRY_AFTER_MS, Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, date - now));
}

/** The error for a non-2xx response; `detail` is a short excerpt of the body, if any. */
export function statusError(
  response: { status: number; statusText: string; headers: { get(name: string): string | null } },
  where: string,
  detail = '',
): TributaryError {
  const { code, retryable } = classifyStatus(response.status);
  // An HTTP-date is the server's clock: measured from the response's own Date, a client
  // whose clock is ahead (or behind) neither retries at once nor waits too long.
  const sent = Date.parse(response.headers.get('date') ?? '');
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), Number.isNaN(sent) ? Date.now() : sent);
  const suffix = detail === '' ? '' : `: ${detail}`;
  return new TributaryError(code, `${where} answered ${response.status} ${response.statusText}${suffix}`, {
    retryable,
    // The server says it did not act on the request: even a POST may be sent again. Not 503: a
    // proxy (Envoy) answers it for an upstream reset after the request went through.
    ...(UNPROCESSED_STATUSES.has(response.status) ? { noEffect: true } : {}),
    driverCode: String(response.status),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

// undici reports socket-level failures as TypeError('fetch failed' | 'terminated') whose
// cause (or, for happy-eyeballs connects, the cause's AggregateError members) carries the code.
// Besides the network codes every source retries, undici's own for a closed socket and timed-out headers or body.
const RETRYABLE_NETWORK_CODES = new Set([...NETWORK_ERROR_CODES, 'ECONNABORTED', 'UND_ERR_CLOSED', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The first `code` found on an error, its cause chain, or an AggregateError's members. */
export function networkCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 5) return undefined;
  const e = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string') return e.code;
  if (Array.isArray(e.errors)) {
    for (const member of e.errors) {
      const code = networkCode(member, depth + 1);
      if (code !== undefined) return code;
    }
  }
  return e.cause === error ? undefined : networkCode(e.cause, depth + 1);
}

/** undici's words for a response with more Content-Encoding layers than it decodes (5). */
const TOO_MANY_ENCODINGS = /too many content-encodings/i;

/**
 * The error for a request that never got a response: SOURCE_UNAVAILABLE, retryable for
 * network codes. A server that answered what llhttp cannot parse (an `HPE_` code), or with
 * more Content-Encoding layers than undici decodes, was reached: that is SOURCE_BAD_RESPONSE,
 * not retried.
 */
export function networkError(cause: unknown, where: string): TributaryError {
  const code = networkCode(cause);
  if (code?.startsWith('HPE_')) return badResponse(`${where} answered something that is not HTTP (${code})`, cause);
  const reason = code ?? messagesOf(cause);
  // undici refuses, without a code, a response with more than 5 Content-Encoding layers: the
  // server answered, and would answer the same again.
  if (code === undefined && TOO_MANY_ENCODINGS.test(reason)) return badResponse(`${where} answered a body it cannot decode (${reason})`, cause);
  return new TributaryError('SOURCE_UNAVAILABLE', `${where} could not be reached (${reason})`, {
    cause,
    retryable: code !== undefined && RETRYABLE_NETWORK_CODES.has(code),
    ...(code === undefined ? {} : { driverCode: code }),
  });
}

/**
 * An error's message and its causes' (`fetch failed: bad port`): undici's own TypeError says only
 * `fetch failed`, its cause why (a port fetch refuses to connect to, an unsupported URL, …).
 */
function messagesOf(error: unknown): string {
  const messages: string[] = [];
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const message = e instanceof Error ? e.message : String(e);
    if (message !== '' && !messages.includes(message)) messages.push(message);
    e = e instanceof Error && e.cause !== e ? e.cause : undefined;
  }
  return messages.join(': ');
}

/** The error for a response that is not rows: SOURCE_BAD_RESPONSE, never retryable. */
export function badResponse(message: string, cause?: unknown): TributaryError {
  const code = networkCode(cause);
  return new TributaryError('SOURCE_BAD_RESPONSE', message, {
    retryable: false,
    ...(cause === undefined ? {} : { cause }),
    ...(code === undefined ? {} : { driverCode: code }),
  });
}

/** httpSource's retry classification: a TributaryError's own flag, else the default network codes. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof TributaryError && error.retryable !== undefined) return error.retryable;
  return defaultIsRetryable(error);
}
