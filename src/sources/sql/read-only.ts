import type { SqlQuery } from './query.js';

/** Words that make a statement more than a read (or that we cannot vouch for). */
const WRITES =
  /\b(insert|update|delete|merge|upsert|replace|create|alter|drop|truncate|rename|grant|revoke|call|exec|execute|do|copy|load|lock|unlock|vacuum|analyze|set|reset|discard|listen|notify|prepare|into|handler|nextval|setval)\b/i;

/**
 * What reads like a word of WRITES but, in one statement that starts with SELECT, WITH, VALUES
 * or TABLE, is only a function or a type: `replace(` (the string function; the REPLACE
 * statement is `REPLACE [INTO] t`, never followed by a parenthesis) and `CHARACTER SET x`
 * (a cast's or conversion's charset). Since such a call is retried only when it reads (see
 * execution/retry-safety.ts), a SELECT calling replace() lost its retries after a timeout.
 */
const READ_ONLY_USES = /\breplace\s*\(|\bcharacter\s+set\b/gi;

const LEADING_COMMENTS = /^(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;

/**
 * True when a SQL statement can be told to only read, so running it twice is harmless (a
 * hedged request may): one statement (no `;` but a trailing one) that starts with SELECT,
 * WITH, VALUES or TABLE, and holds none of the words that write, lock or call (INSERT,
 * UPDATE — so also `FOR UPDATE` —, DELETE, MERGE, INTO, CALL, LOCK, nextval, …), leading
 * comments aside. Conservative by design: such a word anywhere, even in a comment, a string
 * literal or a column name, makes it "not a read", which only means "not hedged, and retried
 * only after a failure that shows it had no effect". A function
 * with side effects called from a SELECT cannot be seen: give such a fragment `hedge: false`.
 */
export function isReadOnlySql(query: SqlQuery): boolean {
  // Only leading comments are skipped: removing comments elsewhere could misread a `--`
  // inside a string literal and hide what follows it. Everything else is read as written.
  const text = query.sql.replace(LEADING_COMMENTS, '').replace(/;\s*$/, '');
  if (text.includes(';')) return false;
  if (!/^\(*\s*(select|with|values|table)\b/i.test(text)) return false;
  return !WRITES.test(text.replace(READ_ONLY_USES, ' '));
}
