import { createRedactor, type Redactor } from '../../redact.js';

/**
 * What an error response's body excerpt may not show. A server often echoes the request in
 * its error ("invalid key k-8f3a… for /people?ssn=078-…"), and the excerpt goes into the
 * error message, which reaches every watcher of the executor (`events$`, the live view,
 * OpenTelemetry exports): the request's header values (API keys, a principal's token) are
 * masked in it. Search params are the query's (a baseUrl has none): `result.errors` keeps
 * them, as it keeps every echoed bound value, and the executor masks the bound ones
 * (`[param]`) on every other channel.
 */

/** Shorter values are too likely to be ordinary words or numbers to be masked everywhere. */
const MIN_SECRET_LENGTH = 4;
/** `Bearer <token>`: the token alone is masked too, as a server may echo it without its scheme. */
const SCHEME_TOKEN = /^\S+\s+(\S{8,})$/;

/** A redactor of the given header values (and of the token of a `Bearer <token>` one). */
export function requestRedactor(headerValues: readonly string[]): Redactor {
  const secrets = new Set<string>();
  for (const value of headerValues) {
    const token = SCHEME_TOKEN.exec(value)?.[1];
    for (const secret of token === undefined ? [value] : [value, token]) if (secret.length >= MIN_SECRET_LENGTH) secrets.add(secret);
  }
  const redact = createRedactor([...secrets]);
  return (text) => maskCutSecret(redact(text), secrets);
}

/**
 * An excerpt is the body's first chunk, which may end inside an echoed secret (the server
 * wrote it in two pieces, or the excerpt's byte cut fell in it): a tail that begins a secret
 * is masked too, or the secret's first characters would show.
 */
function maskCutSecret(text: string, secrets: ReadonlySet<string>): string {
  let cut = 0;
  for (const secret of secrets) {
    for (let length = Math.min(secret.length - 1, text.length); length >= MIN_SECRET_LENGTH && length > cut; length--) {
      if (text.endsWith(secret.slice(0, length))) cut = length;
    }
  }
  return cut === 0 ? text : `${text.slice(0, text.length - cut)}***`;
}
