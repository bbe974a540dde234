import type { Connection as CoreConnection } from 'mysql2';
import { TributaryError } from '../../errors.js';
import { safeMs, statementLimitMs } from '../sql/budget.js';

/** Which server a source talks to, and the statement time limit its sessions already have. */
export interface MysqlServer {
  dialect: 'mariadb' | 'mysql';
  /** The session's own limit in ms (`@@max_statement_time` / `@@max_execution_time`); undefined: none. */
  baseMs: number | undefined;
}

/**
 * The statement text that carries its limit to the server, so the server stops it by itself
 * even if tributary's process dies:
 * - MariaDB: `SET STATEMENT max_statement_time=<seconds> FOR <sql>` (any statement);
 * - MySQL: an optimizer hint `/*+ MAX_EXECUTION_TIME(<ms>) *\/` after the leading `SELECT`
 *   (MySQL honours it on SELECT only; any other statement is sent unchanged), merged into a
 *   hint comment the statement already has there.
 * `limitMs` must come from `statementLimitMs` (a validated safe integer): it is the only
 * thing written into the text.
 */
export function withStatementLimit(sql: string, server: MysqlServer, limitMs: number): string {
  const ms = safeMs(limitMs);
  if (server.dialect === 'mariadb') return `SET STATEMENT max_statement_time=${seconds(ms)} FOR ${sql}`;
  // Leading plain comments (a marker) may come first; a hint comment right after SELECT is merged.
  const select = /^((?:\s|\/\*(?!\+)[\s\S]*?\*\/)*select\b)(\s*\/\*\+)?/i.exec(sql);
  if (select === null) return sql;
  const [head, keyword, hints] = select;
  return `${keyword} /*+ MAX_EXECUTION_TIME(${ms})${hints === undefined ? ' */' : ''}${sql.slice(head.length)}`;
}

/** Whole milliseconds as seconds, exactly (`300` → `0.3`, `1500` → `1.5`). */
function seconds(ms: number): string {
  const whole = Math.floor(ms / 1000);
  const rest = ms % 1000;
  return rest === 0 ? String(whole) : `${whole}.${String(rest).padStart(3, '0').replace(/0+$/, '')}`;
}

/** The limit for one statement (ms), or undefined: none beyond the session's own, which wins when stricter. */
export function mysqlLimitMs(budgetMs: number | undefined, server: MysqlServer): number | undefined {
  return statementLimitMs(budgetMs, server.baseMs);
}

/** Asks a connection which server it is and its sessions' limit: two small queries, once per source. */
export async function detectServer(core: CoreConnection): Promise<MysqlServer> {
  const ask = (sql: string) =>
    new Promise<unknown>((resolve, reject) => core.query(sql, (error: unknown, rows: unknown) => (error ? reject(error as Error) : resolve((rows as Record<string, unknown>[])[0]?.v))));
  const version = String(await ask('SELECT VERSION() AS v'));
  const dialect = /mariadb/i.test(version) ? 'mariadb' : 'mysql';
  // MariaDB's limit is in seconds (a double), MySQL's in ms; 0 means none.
  const raw = Number(await ask(dialect === 'mariadb' ? 'SELECT @@max_statement_time AS v' : 'SELECT @@max_execution_time AS v'));
  const ms = dialect === 'mariadb' ? Math.round(raw * 1000) : raw;
  return { dialect, baseMs: Number.isSafeInteger(ms) && ms > 0 ? ms : undefined };
}

/** MariaDB 1969 (ER_STATEMENT_TIMEOUT), MySQL 3024 (ER_QUERY_TIMEOUT). */
const TIMEOUT_ERRNOS = new Set([1969, 3024]);

/** A statement the server stopped at the limit tributary gave it, as a TIMEOUT; undefined for any other error. */
export function mysqlBudgetTimeout(error: unknown, limitMs: number | undefined): TributaryError | undefined {
  if (limitMs === undefined || typeof error !== 'object' || error === null) return undefined;
  const { errno, message } = error as { errno?: unknown; message?: unknown };
  if (typeof errno !== 'number' || !TIMEOUT_ERRNOS.has(errno)) return undefined;
  return new TributaryError('TIMEOUT', `MariaDB/MySQL stopped the statement at its ${limitMs} ms budget: ${String(message)}`, {
    cause: error,
    driverCode: String(errno),
  });
}
