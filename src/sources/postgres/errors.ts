import { NETWORK_ERROR_RULES, errorCode, retryableBy, type ErrorRule } from '../sql/errors.js';

/**
 * How postgresSource classifies PostgreSQL errors. A key is an exact SQLSTATE (`40P01`), a
 * two-character SQLSTATE class (`08`: every code starting with it), a Node socket code, or
 * `PG_CONNECTION_LOST` for pg's own connection errors, which carry no code. An exact code
 * wins over its class; a code in no row is a query error, not retryable.
 */
export const POSTGRES_ERROR_RULES: Readonly<Record<string, ErrorRule>> = {
  '40001': { retryable: true, rolledBack: true, reason: 'serialization_failure: a concurrent transaction won; a rerun sees the new state' },
  '40P01': { retryable: true, rolledBack: true, reason: 'deadlock_detected: the server aborted this side of a deadlock; the other side proceeds' },
  '55P03': { retryable: true, rolledBack: true, reason: 'lock_not_available: a NOWAIT or lock_timeout lock was busy for now' },
  '57P01': { retryable: true, unavailable: true, reason: 'admin_shutdown: the backend was terminated; a new connection works' },
  '57P02': { retryable: true, unavailable: true, reason: 'crash_shutdown: the server is restarting after a crash' },
  '57P03': { retryable: true, unavailable: true, reason: 'cannot_connect_now: the server is starting up or in recovery' },
  '53300': { retryable: true, unavailable: true, reason: 'too_many_connections: a slot frees up when other clients leave' },
  '57014': { retryable: false, reason: 'query_canceled: statement_timeout or a cancel; the same statement would hit it again' },
  '08': { retryable: true, unavailable: true, reason: 'connection_exception: the connection failed, not the statement' },
  '28': { retryable: false, unavailable: true, reason: 'invalid_authorization: wrong user or password; retrying cannot fix it' },
  '3D000': { retryable: false, unavailable: true, reason: 'invalid_catalog_name: the database does not exist' },
  '42': { retryable: false, reason: 'syntax error or access rule violation (unknown table, no permission): the query is wrong' },
  '22': { retryable: false, reason: 'data_exception: a value is out of range or malformed' },
  '23': { retryable: false, reason: 'integrity_constraint_violation: the data forbids it' },
  PG_CONNECTION_LOST: { retryable: true, unavailable: true, reason: 'pg lost or could not open the connection (terminated, timed out)' },
  ...NETWORK_ERROR_RULES,
};

// pg raises these as plain Errors without a code.
const CONNECTION_LOST = /Connection terminated|timeout expired|timeout exceeded when trying to connect|connection error and is not queryable/;

/** The driver code of a pg error: its SQLSTATE, socket code, or PG_CONNECTION_LOST. */
export function postgresDriverCode(error: unknown): string | undefined {
  const code = errorCode(error);
  if (code !== undefined) return code;
  if (error instanceof Error && CONNECTION_LOST.test(error.message)) return 'PG_CONNECTION_LOST';
  return undefined;
}

/**
 * 08P01 (protocol_violation) for a statement given more or fewer parameters than it has
 * placeholders: the query's mistake, which the same call repeats. (PgBouncer answers 08P01
 * too when it is busy, with other words: that stays a connection exception.)
 */
const BIND_MISMATCH: ErrorRule = { retryable: false, reason: 'the parameters do not match the statement (bind message supplies N parameters, but it requires M)' };

/** The table row for a pg error: its exact code, else its SQLSTATE class, else none. */
export function postgresErrorRule(error: unknown): ErrorRule | undefined {
  const code = postgresDriverCode(error);
  if (code === undefined) return undefined;
  if (code === '08P01' && error instanceof Error && /^bind message supplies \d+ parameters?, but/.test(error.message)) return BIND_MISMATCH;
  const exact = POSTGRES_ERROR_RULES[code];
  if (exact !== undefined) return exact;
  return /^[0-9A-Z]{5}$/.test(code) ? POSTGRES_ERROR_RULES[code.slice(0, 2)] : undefined;
}

/** postgresSource's `isRetryable`: a TributaryError's own flag, else the table, else network codes. */
export const isPostgresRetryable: (error: unknown) => boolean = retryableBy(postgresErrorRule);
