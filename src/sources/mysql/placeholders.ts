import { TributaryError } from '../../errors.js';
import { emptyListEdits, type TextEdit } from './empty-lists.js';
import { exactList, exactParam } from './exact-params.js';
import { isDashComment, skipQuoted } from './sql-tokens.js';

/**
 * The offsets of the `?` placeholders in MySQL text, skipping '…', "…" and `…` quotes and
 * comments (`-- `, `#`, `/* … *\/`). Executable comments (`/*! … *\/`, `/*M! … *\/`) are
 * scanned, as the server runs them. Backslash escapes are honoured inside quotes (the
 * default sql_mode) unless `backslashEscapes` is false (NO_BACKSLASH_ESCAPES).
 */
export function mysqlPlaceholders(sql: string, backslashEscapes = true): number[] {
  const found: number[] = [];
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === '`') {
      i = skipQuoted(sql, i, c, backslashEscapes);
    } else if (c === '#' || isDashComment(sql, i)) {
      const eol = sql.indexOf('\n', i);
      i = eol === -1 ? n : eol + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      if (sql[i + 2] === '!') i += 3;
      else if (sql[i + 2] === 'M' && sql[i + 3] === '!') i += 4;
      else {
        const end = sql.indexOf('*/', i + 2);
        i = end === -1 ? n : end + 2;
      }
    } else {
      if (c === '?') found.push(i);
      i += 1;
    }
  }
  return found;
}

/**
 * MySQL's bound lists: the Nth `?` whose param is a JS array becomes `?, ?, …` with the
 * array's values bound in its place. An empty array in a set list (`[NOT] IN (…)`, `ANY`,
 * `SOME`, `ALL`), however spaced or commented, leaves the list (`IN (?, 5)` → `IN (5)`), and a
 * list left with nothing becomes a subquery of no rows, so `IN` is false and `NOT IN` true for
 * every row, a null too, as in SQL (MySQL has no `IN ()`, and `NOT IN (NULL)` would keep no
 * row); anywhere else it becomes `NULL` (empty-lists.ts). Without array params the text is untouched. `undefined` is sent as NULL.
 * Each value goes as the type its literal would have (exact-params.ts: a bigint as a BIGINT,
 * a fraction as a DECIMAL), each list as a list of literals (`exactList`).
 * Params that do not match the `?` placeholders one for one fail, not retried, as on
 * PostgreSQL and SQLite: the server would ignore extra values of a prepared statement (and
 * bind garbage for a surplus). Text holding a backslash is also scanned as under
 * NO_BACKSLASH_ESCAPES, and either reading that matches the params is taken.
 */
export function expandListParams(
  sql: string,
  params: readonly unknown[],
  fragmentId?: string,
): { sql: string; values: unknown[] } {
  const values: unknown[] = [];
  const { marks, backslashEscapes } = placeholdersFor(sql, params.length);
  if (marks.length !== params.length) {
    const message = `the SQL has ${marks.length} ? placeholders but ${params.length} params were given`;
    const path = fragmentId === undefined ? 'query.params' : `fragments.${fragmentId}.query.params`;
    throw new TributaryError('FRAGMENT_FAILED', message, { retryable: false, issues: [{ path, message }] });
  }
  if (!params.some(Array.isArray)) {
    for (const p of params) values.push(p === undefined ? null : exactParam(p));
    return { sql, values };
  }
  // Only a text with an empty list is lexed (emptyListEdits): every empty list's `?` lies in one edit.
  let edits: TextEdit[] | undefined;
  if (params.some((p) => Array.isArray(p) && p.length === 0)) {
    const empty = new Set(marks.filter((_, k) => Array.isArray(params[k]) && (params[k] as unknown[]).length === 0));
    edits = emptyListEdits(sql, (at) => empty.has(at), backslashEscapes);
  }
  let text = '';
  let last = 0;
  let e = 0;
  marks.forEach((at, k) => {
    const param = params[k];
    if (edits !== undefined) {
      while (e < edits.length && edits[e]!.to <= at) e++;
      const edit = edits[e];
      if (edit !== undefined && edit.from <= at) {
        // The first `?` of an edit writes it; the others it covers bind nothing.
        if (last <= edit.from) {
          text += sql.slice(last, edit.from) + edit.text;
          last = edit.to;
        }
        return;
      }
    }
    text += sql.slice(last, at);
    last = at + 1;
    if (!Array.isArray(param)) {
      text += '?';
      values.push(param === undefined ? null : exactParam(param));
    } else {
      text += '?, '.repeat(param.length - 1) + '?';
      for (const v of exactList(param as unknown[])) values.push(v === undefined ? null : v);
    }
  });
  if (values.length > MAX_PLACEHOLDERS) {
    // The server would refuse it (error 1390) after the round trip; say what to do instead.
    const message = `the bound lists expand to ${values.length} placeholders; MySQL and MariaDB take at most ${MAX_PLACEHOLDERS} in one statement: give the fragment a batch ({ "batch": { "param": <index>, "size": 10000 } })`;
    const path = fragmentId === undefined ? 'query.params' : `fragments.${fragmentId}.query.params`;
    throw new TributaryError('FRAGMENT_FAILED', message, { retryable: false, issues: [{ path, message }] });
  }
  return { sql: text + sql.slice(last), values };
}

/** The placeholders of `sql`, read with backslash escapes, or without when only that reading gives `count`. */
function placeholdersFor(sql: string, count: number): { marks: number[]; backslashEscapes: boolean } {
  const marks = mysqlPlaceholders(sql);
  if (marks.length === count || !sql.includes('\\')) return { marks, backslashEscapes: true };
  const plain = mysqlPlaceholders(sql, false);
  return plain.length === count ? { marks: plain, backslashEscapes: false } : { marks, backslashEscapes: true };
}

/** The most `?` placeholders one prepared statement may hold (the protocol's 16-bit count). */
export const MAX_PLACEHOLDERS = 65_535;
