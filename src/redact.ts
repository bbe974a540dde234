/**
 * Masks credentials in a text without knowing them: URL passwords, `Bearer`/`Basic`
 * credentials (8 or more characters that are not a plain word) and `password=`-style values,
 * plus any secrets given. Used by recordings (an error a source echoes may carry them) and by
 * the command line, which adds the secrets of its sources file.
 */

export type Redactor = (text: string) => string;

/** `scheme://user:password@` → `scheme://user:***@`. */
export const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*):([^\s@/?#]+)@/gi;
/** `Bearer <token>` / `Basic <credentials>`: a credential an HTTP error may echo back (a word is not one). */
const AUTH_CREDENTIAL = /\b(bearer|basic)\s+([A-Za-z0-9._~+/-]{8,}=*)/gi;
/** `password=…`, `token=…`, `api_key=…` in a query string or a connection string. */
const KEY_VALUE = /\b(pass(?:word|wd)?|pwd|secret|token|access[-_]?token|api[-_]?key)=([^\s&;,'"]+)/gi;

/** A redactor for the given secrets (each replaced by `***` wherever it appears), plus the patterns. */
export function createRedactor(secrets: readonly string[] = []): Redactor {
  const sorted = [...secrets].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const secret of sorted) out = out.split(secret).join('***');
    out = out.replace(URL_PASSWORD, '$1:***@');
    out = out.replace(AUTH_CREDENTIAL, (whole: string, scheme: string, token: string) => (/^[A-Za-z][a-z]*$/.test(token) ? whole : `${scheme} ***`));
    return out.replace(KEY_VALUE, '$1=***');
  };
}
