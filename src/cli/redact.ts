/**
 * Keeps secrets out of everything the command prints. Secrets are collected from the
 * expanded sources file: the password of every URL, every header value, and every string
 * under a key that names a credential (`password`, `token`, `secret`, `apiKey`, …). Each
 * is replaced by `***` wherever it appears; URL passwords are also masked by pattern, so a
 * connection string a driver echoes back is covered even when it was never configured.
 */
import type { Recording } from '../durable/index.js';
import { createRedactor, URL_PASSWORD, type Redactor } from '../redact.js';

export { createRedactor, type Redactor };

const SECRET_KEY = /pass(word|wd|phrase)?$|secret|token|api[-_]?key|^key$|authorization|cookie|credential|private[-_]?key/i;
/** Shorter strings are too likely to be ordinary words to be replaced everywhere. */
const MIN_SECRET_LENGTH = 4;

/** The secrets inside a (expanded) sources configuration. */
export function collectSecrets(config: unknown): string[] {
  const found = new Set<string>();
  const add = (s: string): void => {
    if (s.length < MIN_SECRET_LENGTH) return;
    found.add(s);
    // A value inside a URL is often percent-encoded; and an `authorization` header's
    // token is worth masking without its scheme too.
    try {
      const decoded = decodeURIComponent(s);
      if (decoded.length >= MIN_SECRET_LENGTH) found.add(decoded);
    } catch {
      // not percent-encoded
    }
    const token = /^(?:bearer|basic|token)\s+(\S+)$/i.exec(s)?.[1];
    if (token && token.length >= MIN_SECRET_LENGTH) found.add(token);
  };
  const visit = (value: unknown, key: string, secret: boolean): void => {
    if (typeof value === 'string') {
      if (secret || SECRET_KEY.test(key)) add(value);
      for (const m of value.matchAll(URL_PASSWORD)) add(m[2]!);
      return;
    }
    // A memory source's tables are data, not configuration.
    if (typeof value !== 'object' || value === null || key === 'tables') return;
    const isHeaders = /^headers$/i.test(key);
    for (const [k, v] of Object.entries(value)) visit(v, k, secret || isHeaders || SECRET_KEY.test(key));
  };
  visit(config, '', false);
  return [...found].sort((a, b) => b.length - a.length);
}

/**
 * A recording with `redact` applied to the texts a source's errors put in it (each recorded
 * call's error message), for `run --record`: the file holds no secret of the sources file that
 * the run's output would not show.
 */
export function redactRecording(recording: Recording, redact: Redactor): Recording {
  return {
    ...recording,
    calls: recording.calls.map((call) => (call.outcome === 'error' ? { ...call, error: { ...call.error, message: redact(call.error.message) } } : call)),
  };
}
