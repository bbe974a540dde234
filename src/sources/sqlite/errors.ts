import { TributaryError } from '../../errors.js';

/** SQLite result codes worth another try: the database was busy or locked by another writer. */
const RETRYABLE_SQLITE = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_RECOVERY']);

/** `isRetryable` of a SQLite source: busy and locked are worth another try, nothing else. */
export function isSqliteRetryable(error: unknown): boolean {
  const code = (error as { driverCode?: string; code?: string })?.driverCode ?? (error as { code?: string })?.code;
  return typeof code === 'string' && RETRYABLE_SQLITE.has(code);
}

/** A better-sqlite3 error as a TributaryError naming the statement; a TributaryError passes through. */
export function wrapSqliteError(error: unknown, sql: string): unknown {
  if (error instanceof TributaryError) return error;
  const code = (error as { code?: string })?.code;
  const message = error instanceof Error ? error.message : String(error);
  return new TributaryError('FRAGMENT_FAILED', `SQLite rejected the query (${code ?? 'error'}): ${message} — in: ${sql.slice(0, 200)}`, {
    cause: error,
    retryable: typeof code === 'string' && RETRYABLE_SQLITE.has(code),
    driverCode: code,
  });
}

/** The database file could not be opened (missing under `readonly`, a directory, no permission): not retried. */
export function cannotOpen(file: string, reason: string, driverCode: string | undefined, cause?: unknown): TributaryError {
  return new TributaryError('SOURCE_UNAVAILABLE', `cannot open SQLite database ${file}: ${reason}`, {
    cause,
    retryable: false,
    driverCode,
  });
}
