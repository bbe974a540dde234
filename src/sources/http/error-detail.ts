import { createRedactor, type Redactor } from '../../redact.js';

/**
 * What an error response's body excerpt may not show. A server often echoes the request in
 * its error ("invalid key k-8f3a… for /people?ssn=078-…"), and the excerpt goes into the
 * error message, which reaches every watcher of the executor (`events$`, the live view,
 * OpenTelemetry exports): the request's header values (API keys, a principal's token) and
 * search param values (run params) are masked in it, as the URL in the message hides them.
 */

/** Shorter values are too likely to be ordinary words or numbers to be masked everywhere. */
const MIN_SECRET_LENGTH = 4;
/** `Bearer <token>`: the token alone is masked too, as a server may echo it without its scheme. */
const SCHEME_TOKEN = /^\S+\s+(\S{8,})$/;

/** A redactor of the given header values and of `url`'s search param values, as sent and as decoded. */
export function requestRedactor(headerValues: readonly string[], url: URL): Redactor {
  const secrets = new Set<string>();
  const add = (value: string) => {
    if (value.length >= MIN_SECRET_LENGTH) secrets.add(value);
  };
  for (const value of headerValues) {
    add(value);
    const token = SCHEME_TOKEN.exec(value)?.[1];
    if (token !== undefined) add(token);
  }
  for (const value of url.searchParams.values()) {
    add(value);
    // As the URL spells it (`a+b`, `%C3%A9`), and as encodeURIComponent does (`a%20b`).
    add(new URLSearchParams({ v: value }).toString().slice('v='.length));
    add(encodeURIComponent(value));
  }
  return createRedactor([...secrets]);
}
