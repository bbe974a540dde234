/**
 * The sources folder's door: the SourceExecutor port and the built-in connectors. Other
 * folders import from here (or from `source.ts` for the port alone), never from a
 * connector's own files.
 */
export type { SourceExecutor, ExecuteContext, Principal } from './source.js';
export { defaultIsRetryable } from './source.js';
export { isReadOnlySql } from './sql/read-only.js';
export { memorySource, type MemorySourceOptions, type MemoryQuery } from './memory/connector.js';
export { sqliteSource, type SqliteSourceOptions } from './sqlite/connector.js';
export { postgresSource, type PostgresSource, type PostgresSourceOptions } from './postgres/connector.js';
export { mysqlSource, type MysqlSource, type MysqlSourceOptions } from './mysql/connector.js';
export { httpSource, type HttpSourceOptions, type HttpQuery } from './http/connector.js';
export { sqlQuerySchema, type SqlQuery } from './sql/query.js';
