import type { FragmentError } from '../errors.js';
import type { SourceExecutor } from '../sources/source.js';
import { readField } from './thrown.js';

/**
 * Whether a failed call may run again when running it twice could do harm (a POST, an
 * INSERT): as AWS SDK and gRPC retry policies do, a call that may write is tried again only
 * after a failure that shows it had no effect (never sent, refused, rolled back). A timeout,
 * a reset or lost connection, a 502, 503 or 504 can come after the server did the work: a
 * retry would do it twice.
 */

/**
 * Node and undici codes of a connection that was never made, so no byte of the call left.
 * Not ETIMEDOUT (an established connection's keepalive or retransmission timeout says it
 * too), nor ECONNRESET, EPIPE or UND_ERR_SOCKET (the server may have read the request).
 */
export const NOT_CONNECTED_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * True when what a source threw shows its call had no effect on the server: its own or a
 * cause's `noEffect: true` (a connector's word: no pooled connection, HTTP 429, a deadlock
 * the database rolled back), or a
 * could-not-connect code on it, on a cause, or on every member of an AggregateError (Node's
 * happy-eyeballs connect). Never throws: a hostile value reads as "may have run".
 */
export function hadNoEffect(error: unknown, depth = 0): boolean {
  if (depth > 8 || typeof error !== 'object' || error === null) return false;
  const said = readField(error, 'noEffect');
  // false: its source knows the call may have run, whatever its causes say (a POST's 303 hop).
  if (typeof said === 'boolean') return said;
  const code = readField(error, 'code');
  if (typeof code === 'string' && NOT_CONNECTED_CODES.has(code)) return true;
  const members = readField(error, 'errors');
  try {
    if (Array.isArray(members) && members.length > 0 && members.every((m) => hadNoEffect(m, depth + 1))) return true;
  } catch {
    return false;
  }
  const cause = readField(error, 'cause');
  return cause !== error && hadNoEffect(cause, depth + 1);
}

/**
 * Why a failed, retryable call must not run again, or undefined when it may: its source says
 * it writes (`isReadOnly(query)` false, or an `isReadOnly` that throws), its fragment did not
 * say its calls may run twice (`mayRunTwice`: `retry.idempotent` or `hedge.idempotent`), and
 * the failure does not show the call had no effect (`error.noEffect`). A source without
 * `isReadOnly` cannot tell: its calls are retried as before.
 */
export function retryRefusal(error: FragmentError, source: SourceExecutor, query: unknown, mayRunTwice: boolean): string | undefined {
  if (mayRunTwice || error.noEffect === true) return undefined;
  const isReadOnly = source.isReadOnly;
  if (isReadOnly === undefined) return undefined;
  let reads: boolean;
  try {
    reads = isReadOnly.call(source, query) === true;
  } catch {
    reads = false;
  }
  if (reads) return undefined;
  const method = readField(query, 'method');
  const what = typeof method === 'string' ? `${method} is not a read` : `source "${error.source}" says the call writes`;
  return `not retried: the call may have run (${what}); a plan whose calls are safe to run twice says retry: { idempotent: true }`;
}
