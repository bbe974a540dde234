import { TributaryError } from '../../errors.js';
import type { Principal } from '../source.js';
import { headersSchema } from './query.js';

/**
 * `httpSource({ headers })` as a function: the headers a principal's requests carry, or a
 * promise of them (a token looked up or refreshed per principal).
 */
export type HttpHeadersFor = (principal: Principal | undefined) => Record<string, string> | Promise<Record<string, string>>;

/**
 * The source's headers for one call: the fixed object, or what the function answers (or
 * resolves to) for the call's principal (undefined for an anonymous run), checked like fixed
 * headers. A function that throws, rejects or answers bad headers fails the call, not
 * retryable; the message names the problem, never a header's value (it may be a token).
 */
export async function sourceHeaders(headers: Record<string, string> | HttpHeadersFor | undefined, principal: Principal | undefined): Promise<Record<string, string>> {
  if (typeof headers !== 'function') return headers ?? {};
  let answer: unknown;
  try {
    answer = await headers(principal);
  } catch (error) {
    throw new TributaryError('FRAGMENT_FAILED', `httpSource: the headers function threw: ${error instanceof Error ? error.message : String(error)}`, { cause: error, retryable: false });
  }
  const parsed = headersSchema.safeParse(answer ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: ['headers', ...i.path.map(String)].join('.'), message: i.message }));
  throw new TributaryError('FRAGMENT_FAILED', `httpSource: the headers function answered invalid headers (${issues.map((i) => `${i.path}: ${i.message}`).join('; ')})`, { issues, retryable: false });
}
