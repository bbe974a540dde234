import { NETWORK_ERROR_RULES, errorCode, retryableBy, type ErrorRule } from '../sql/errors.js';

/**
 * How mysqlSource classifies MariaDB/MySQL errors. A key is a server errno (`1213`) or a
 * mysql2 / Node code for client-side failures (`PROTOCOL_CONNECTION_LOST`, `ECONNRESET`).
 * A code in no row is a query error, not retryable.
 */
export const MYSQL_ERROR_RULES: Readonly<Record<string, ErrorRule>> = {
  '1213': { retryable: true, rolledBack: true, reason: 'ER_LOCK_DEADLOCK: InnoDB rolled this side back; the other side proceeds' },
  '1205': { retryable: true, rolledBack: true, reason: 'ER_LOCK_WAIT_TIMEOUT: a lock holder was slow; it may be gone now' },
  '2013': { retryable: true, unavailable: true, reason: 'CR_SERVER_LOST: the connection dropped during the query' },
  '2006': { retryable: true, unavailable: true, reason: 'CR_SERVER_GONE_ERROR: the server closed the connection' },
  '1040': { retryable: true, unavailable: true, reason: 'ER_CON_COUNT_ERROR: too many connections; slots free up' },
  '1203': { retryable: true, unavailable: true, reason: 'ER_TOO_MANY_USER_CONNECTIONS: the max_user_connections slots free up' },
  '1226': { retryable: true, unavailable: true, reason: 'ER_USER_LIMIT_REACHED: a per-account limit (MAX_USER_CONNECTIONS); slots free up' },
  '1053': { retryable: true, unavailable: true, reason: 'ER_SERVER_SHUTDOWN: the server is shutting down or restarting' },
  '1927': { retryable: true, unavailable: true, reason: 'ER_CONNECTION_KILLED (MariaDB): the connection was killed; a new one works' },
  '4031': { retryable: true, unavailable: true, reason: 'ER_CLIENT_INTERACTION_TIMEOUT (MySQL): idle connection closed by the server' },
  '1317': { retryable: false, reason: 'ER_QUERY_INTERRUPTED: someone ran KILL QUERY on it; rerunning defeats that' },
  '1969': { retryable: false, reason: 'ER_STATEMENT_TIMEOUT (MariaDB max_statement_time): it would time out again' },
  '3024': { retryable: false, reason: 'ER_QUERY_TIMEOUT (MySQL max_execution_time): it would time out again' },
  '1064': { retryable: false, reason: 'ER_PARSE_ERROR: SQL syntax error' },
  '1045': { retryable: false, unavailable: true, reason: 'ER_ACCESS_DENIED_ERROR: wrong user or password' },
  '1044': { retryable: false, unavailable: true, reason: 'ER_DBACCESS_DENIED_ERROR: no access to the database' },
  '1049': { retryable: false, unavailable: true, reason: 'ER_BAD_DB_ERROR: the database does not exist' },
  '1142': { retryable: false, reason: 'ER_TABLEACCESS_DENIED_ERROR: no privilege on the table' },
  '1143': { retryable: false, reason: 'ER_COLUMNACCESS_DENIED_ERROR: no privilege on the column' },
  '1146': { retryable: false, reason: 'ER_NO_SUCH_TABLE: unknown table' },
  '1054': { retryable: false, reason: 'ER_BAD_FIELD_ERROR: unknown column' },
  '1062': { retryable: false, reason: 'ER_DUP_ENTRY: the data forbids it' },
  PROTOCOL_CONNECTION_LOST: { retryable: true, unavailable: true, reason: 'mysql2: the server closed the connection' },
  PROTOCOL_SEQUENCE_TIMEOUT: { retryable: true, unavailable: true, reason: 'mysql2: the server did not answer the handshake in time' },
  PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR: { retryable: true, unavailable: true, reason: 'mysql2: the connection had already failed' },
  ...NETWORK_ERROR_RULES,
};

/** The driver code of a mysql2 error: the server's errno for server errors, else its code. */
export function mysqlDriverCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null) {
    const { errno, sqlState } = error as { errno?: unknown; sqlState?: unknown };
    // Server errors carry a sqlState, client (CR_*) errors a 2xxx errno; socket errors carry
    // Node's negative errno (-104), which is no MySQL code, so their `code` is used instead.
    const server = typeof sqlState === 'string' || (typeof errno === 'number' && errno >= 2000 && errno < 3000);
    if (typeof errno === 'number' && errno > 0 && server) return String(errno);
  }
  return errorCode(error);
}

/** The table row for a mysql2 error, if any. */
export function mysqlErrorRule(error: unknown): ErrorRule | undefined {
  const code = mysqlDriverCode(error);
  return code === undefined ? undefined : MYSQL_ERROR_RULES[code];
}

/** mysqlSource's `isRetryable`: a TributaryError's own flag, else the table, else network codes. */
export const isMysqlRetryable: (error: unknown) => boolean = retryableBy(mysqlErrorRule);
