/**
 * The words of a call's statement (its keywords and identifiers), which a server prints in
 * its messages (`syntax error at or near "FROM"`, `column "Name" does not exist`): a bound
 * value's case-folded form that is one of them, in that very case, is the statement's word,
 * not an echo of the value (see value-mask.ts). @internal
 */

const WORDS = /[\p{L}_][\p{L}\p{N}_$]*/gu;
/** A function that prints a value in another case: a statement calling one may echo any value so. */
const FOLDS = /\b(?:lower|upper|lcase|ucase|initcap)\s*\(/i;

/**
 * The words of `query`'s SQL text (a SQL source's `{ sql }`), or undefined when it has none or
 * when it folds a value's case itself (`upper($1)`): a word of its own then may be a value's echo.
 */
export function statementWords(query: unknown): ReadonlySet<string> | undefined {
  const sql = typeof query === 'object' && query !== null && 'sql' in query ? query.sql : undefined;
  if (typeof sql !== 'string' || FOLDS.test(sql)) return undefined;
  return new Set(sql.match(WORDS));
}
