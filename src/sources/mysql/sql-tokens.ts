/**
 * A small MySQL/MariaDB lexer: just enough to see where a `?` stands. Quoted runs ('…', "…",
 * `…`) are one token each, comments (`-- `, `#`, `/* … *\/`) and whitespace are skipped, and
 * executable comments (`/*! … *\/`, `/*M! … *\/`) are read as the server reads them: their
 * contents are tokens.
 */

/** One significant token: a word (`IN`, `t1`, `42`), a quoted run, a `?`, or one other character. */
export interface SqlToken {
  kind: 'word' | 'quoted' | 'param' | 'punct';
  start: number;
  /** Just past the token. */
  end: number;
}

/** MySQL's `--` starts a comment only before a space, a control character or the end. */
export function isDashComment(sql: string, i: number): boolean {
  return sql[i] === '-' && sql[i + 1] === '-' && (i + 2 >= sql.length || sql.charCodeAt(i + 2) <= 32);
}

/** The index just past the quoted run that starts at `start` (the end of the text if it never closes). */
export function skipQuoted(sql: string, start: number, quote: string, backslashEscapes: boolean): number {
  let j = start + 1;
  while (j < sql.length) {
    const c = sql[j];
    if (c === '\\' && quote !== '`' && backslashEscapes) j += 2;
    else if (c === quote && sql[j + 1] === quote) j += 2; // a doubled quote is one literal quote
    else if (c === quote) return j + 1;
    else j += 1;
  }
  return sql.length;
}

const WORD = /[A-Za-z0-9_$\u0080-\uffff]/;

/** The significant tokens of `sql`, in order (see the file's note). */
export function mysqlTokens(sql: string, backslashEscapes = true): SqlToken[] {
  const tokens: SqlToken[] = [];
  const n = sql.length;
  let executable = 0; // open executable comments, whose `*/` is skipped
  let i = 0;
  while (i < n) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === '`') {
      const end = skipQuoted(sql, i, c, backslashEscapes);
      tokens.push({ kind: 'quoted', start: i, end });
      i = end;
    } else if (c === '#' || isDashComment(sql, i)) {
      const eol = sql.indexOf('\n', i);
      i = eol === -1 ? n : eol + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      if (sql[i + 2] === '!' || (sql[i + 2] === 'M' && sql[i + 3] === '!')) {
        executable++;
        i += sql[i + 2] === '!' ? 3 : 4;
        while (i < n && sql[i]! >= '0' && sql[i]! <= '9') i++; // the version it needs
      } else {
        const end = sql.indexOf('*/', i + 2);
        i = end === -1 ? n : end + 2;
      }
    } else if (c === '*' && sql[i + 1] === '/' && executable > 0) {
      executable--;
      i += 2;
    } else if (c.charCodeAt(0) <= 32) {
      i++;
    } else if (WORD.test(c)) {
      let end = i + 1;
      while (end < n && WORD.test(sql[end]!)) end++;
      tokens.push({ kind: 'word', start: i, end });
      i = end;
    } else {
      tokens.push({ kind: c === '?' ? 'param' : 'punct', start: i, end: i + 1 });
      i++;
    }
  }
  return tokens;
}
