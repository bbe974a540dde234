import type { Row } from '../../data/row.js';
import type { ExecuteContext, SourceExecutor } from '../source.js';
import type { SqlQuery } from './query.js';

/** The SourceExecutor a pooled SQL connector (postgresSource, mysqlSource) returns. */
export interface SqlSource<K extends string> extends SourceExecutor<SqlQuery> {
  kind: K;
  /**
   * All rows (bounded by maxRows / maxBytes); with `ctx.stream: true`, batches of
   * `streamBatchSize` rows, the server held back until the consumer asks for the next one.
   */
  execute(query: SqlQuery, ctx: ExecuteContext & { stream: true }): AsyncIterable<Row[]>;
  execute(query: SqlQuery, ctx: ExecuteContext): Promise<Row[]>;
  maxConcurrency: number;
  version(): Promise<string>;
  close(): Promise<void>;
  isRetryable(error: unknown): boolean;
  /** See `isReadOnlySql`: which statements a hedged request may run twice. */
  isReadOnly(query: SqlQuery): boolean;
}
