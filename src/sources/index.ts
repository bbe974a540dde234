/**
 * The sources folder's door: the SourceExecutor port and the built-in connectors. Other
 * folders import from here (or from `source.ts` for the port alone), never from a
 * connector's own files.
 */
export type { SourceExecutor, ExecuteContext, Principal } from './source.js';
export { defaultIsRetryable } from './source.js';
export { isReadOnlySql } from './sql/read-only.js';
import { memorySource as memoryConnector, type MemorySourceOptions as MemoryConnectorOptions } from './memory/connector.js';
import { sqliteSource as sqliteConnector, type SqliteSourceOptions as SqliteConnectorOptions } from './sqlite/connector.js';
import { postgresSource as postgresConnector, type PostgresSourceOptions as PostgresConnectorOptions } from './postgres/connector.js';
import { mysqlSource as mysqlConnector, type MysqlSourceOptions as MysqlConnectorOptions } from './mysql/connector.js';
import { httpSource as httpConnector, type HttpSourceOptions as HttpConnectorOptions } from './http/connector.js';
import { withLaneOptions, type SourceLaneOptions } from './lane-options.js';

export type { SourceLaneOptions } from './lane-options.js';
export type { MemoryQuery } from './memory/connector.js';
export type { PostgresSource } from './postgres/connector.js';
export type { MysqlSource } from './mysql/connector.js';
export type { HttpQuery } from './http/connector.js';

// Every connector takes the lane's load-shedding options (`maxQueued`, `maxQueueMs`).
export type MemorySourceOptions = MemoryConnectorOptions & SourceLaneOptions;
export type SqliteSourceOptions = SqliteConnectorOptions & SourceLaneOptions;
export type PostgresSourceOptions = PostgresConnectorOptions & SourceLaneOptions;
export type MysqlSourceOptions = MysqlConnectorOptions & SourceLaneOptions;
export type HttpSourceOptions = HttpConnectorOptions & SourceLaneOptions;
export const memorySource = withLaneOptions('memory', memoryConnector);
export const sqliteSource = withLaneOptions('sqlite', sqliteConnector);
export const postgresSource = withLaneOptions('postgres', postgresConnector);
export const mysqlSource = withLaneOptions('mysql', mysqlConnector);
export const httpSource = withLaneOptions('http', httpConnector);
export { sqlQuerySchema, type SqlQuery } from './sql/query.js';
