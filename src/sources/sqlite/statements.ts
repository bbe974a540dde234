import { sqlQuerySchema } from '../sql/query.js';

/**
 * Statements a plan may not run on an SQLite source, whatever its `readonly` option: each
 * reaches past the configured database file. `ATTACH` opens any other SQLite file the process
 * can read (SQLite counts it as read-only, so `readonly: true` let it through) and it stays
 * attached to the shared connection, readable by every later run and principal; `DETACH`
 * goes with it; `VACUUM INTO` writes a copy of the database to any path, even from a
 * read-only connection (and `VACUUM` rewrites the file).
 */
const REFUSED = new Set(['ATTACH', 'DETACH', 'VACUUM']);

/**
 * The first keyword of a statement, upper-cased, past whitespace, `--` and `/* *\/`
 * comments and empty statements (`;`); `undefined` when there is none. better-sqlite3
 * prepares one statement at a time, so the first keyword is the statement's kind.
 */
export function leadingKeyword(sql: string): string | undefined {
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === ';' || /\s/.test(c)) i++;
    else if (c === '-' && sql[i + 1] === '-') {
      const eol = sql.indexOf('\n', i);
      i = eol === -1 ? n : eol + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? n : end + 2;
    } else break;
  }
  return /^[A-Za-z_]+/.exec(sql.slice(i, i + 32))?.[0]?.toUpperCase();
}

/** Why a statement may not run on an SQLite source, or `undefined` when it may. */
export function refusedStatement(sql: string): string | undefined {
  const keyword = leadingKeyword(sql);
  if (keyword === undefined || !REFUSED.has(keyword)) return undefined;
  return `${keyword} is not allowed on an SQLite source: it reaches past the source's own database file`;
}

/** sqliteSource's native query: `{ sql, params? }`, without ATTACH, DETACH or VACUUM. */
export const sqliteQuerySchema = sqlQuerySchema.superRefine((query, ctx) => {
  const refused = refusedStatement(query.sql);
  if (refused !== undefined) ctx.addIssue({ code: 'custom', path: ['sql'], message: refused });
});
