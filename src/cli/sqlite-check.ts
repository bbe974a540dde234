import Database from 'better-sqlite3';
import type { ErrorIssue } from '../errors.js';
import type { ValidatedPlan } from '../plan/index.js';

/**
 * What `validate --sources` can learn from a SQLite file without running anything: each
 * fragment's statement is compiled (`prepare`: syntax, tables, columns) and its parameters
 * bound (their count), then thrown away. The file is opened read-only.
 */
export function checkSqliteQueries(plan: Pick<ValidatedPlan, 'fragments'>, files: ReadonlyMap<string, string>): ErrorIssue[] {
  const issues: ErrorIssue[] = [];
  const open = new Map<string, Database.Database | Error>();
  try {
    plan.fragments.forEach((f, i) => {
      const file = files.get(f.source);
      const query = f.query as { sql?: unknown; params?: unknown };
      if (file === undefined || typeof query.sql !== 'string') return;
      let db = open.get(file);
      if (db === undefined) {
        try {
          db = new Database(file, { readonly: true, fileMustExist: true });
        } catch (error) {
          db = error as Error;
          issues.push({ path: `${f.source}.file`, message: `cannot open ${file}: ${db.message}` });
        }
        open.set(file, db);
      }
      if (db instanceof Error) return;
      try {
        const stmt = db.prepare(query.sql);
        // Placeholders only count here: every value (a bound list, a $param) stands in as null.
        const params = Array.isArray(query.params) ? query.params : [];
        stmt.bind(...params.map(() => null));
      } catch (error) {
        issues.push({ path: `fragments[${i}].query.sql`, message: `SQLite: ${(error as Error).message}` });
      }
    });
  } finally {
    for (const db of open.values()) if (!(db instanceof Error)) db.close();
  }
  return issues;
}
