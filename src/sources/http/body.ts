import { TributaryError } from '../../errors.js';
import { badResponse } from './errors.js';
import type { LimitCounter } from '../../data/limits.js';

/**
 * Reads a response body chunk by chunk, so a body over the byte budget is cut off as soon
 * as it passes the bound instead of being buffered whole, and an abort stops a read that
 * is waiting on a stalled server. `where` (`GET <url>`) names the request in errors.
 */
export async function readBody(response: Response, budget: LimitCounter, signal: AbortSignal, where: string): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > 0) {
    try {
      budget.checkBytes(declared);
    } catch (error) {
      await response.body?.cancel().catch(ignore);
      throw error;
    }
  }
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  // fetch already errors the body on abort; cancelling here too does not depend on that.
  const onAbort = () => void reader.cancel(signal.reason).catch(ignore);
  signal.addEventListener('abort', onAbort, { once: true });
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      // A cancelled read resolves as `done`, so the abort check must come first.
      signal.throwIfAborted();
      if (done) break;
      budget.addBytes(value.byteLength);
      chunks.push(value);
      length += value.byteLength;
    }
  } catch (error) {
    void reader.cancel().catch(ignore);
    if (signal.aborted) throw signal.reason;
    if (error instanceof TributaryError) throw error;
    // `where`, not response.url: a response from a `fetch` option may carry no url.
    throw badResponse(`${where} sent a body that ended early or could not be read`, error);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  return concat(chunks, length);
}

/**
 * The first `max` characters of an error response's body, for the error message, after
 * `redact` (applied before the cut, so no secret is left half-masked); never throws.
 */
export async function readSnippet(response: Response, redact: (text: string) => string, max = 200): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  try {
    const { value } = await reader.read();
    if (value === undefined) return '';
    // `stream`: a character cut by the byte cut is left out, not turned into U+FFFD (a secret's cut end is masked whole).
    const text = redact(new TextDecoder().decode(value.subarray(0, max * 4), { stream: true })).slice(0, max);
    return text.replace(/\s+/g, ' ').trim();
  } catch {
    return '';
  } finally {
    // Error bodies are not needed past the excerpt; cancelling frees the connection.
    void reader.cancel().catch(ignore);
  }
}

/** Decodes UTF-8 strictly: a body with invalid bytes is a bad response, not mojibake rows. */
export function decodeUtf8(bytes: Uint8Array, where: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw badResponse(`${where} sent a body that is not valid UTF-8`, error);
  }
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function ignore(): void {}
