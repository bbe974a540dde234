import type { SqlQuery } from './query.js';

/** Words that make a statement more than a read (or that we cannot vouch for). */
const WRITES =
  /\b(insert|update|delete|merge|upsert|replace|create|alter|drop|truncate|rename|grant|revoke|call|exec|execute|do|copy|load|lock|unlock|vacuum|analyze|set|reset|discard|listen|notify|prepare|into|handler|nextval|setval)\b/i;

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
  return !WRITES.test(text);
}
