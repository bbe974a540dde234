import pg from 'pg';
import type { ResultBuilder } from 'pg';
import type { Row } from '../../data/row.js';

/**
 * One statement for `client.query`, reporting to one callback (pg calls it exactly once:
 * the result, or the error). Always in the extended protocol (Parse/Bind/Execute), even
 * without parameters, so the text is ONE statement: 'SELECT 1; DROP TABLE t' is rejected
 * instead of run.
 *
 * Built from the text and values, not from a config object: pg copies a config object
 * property by property (descriptors included) for every query, a measurable share of a
 * point query; the text form skips that copy.
 */
export class OneStatement extends pg.Query<Row> {
  /** Read by pg when it sends the statement. */
  declare queryMode: 'extended';

  constructor(text: string, values: unknown[], callback: (error: Error | undefined, result: ResultBuilder<Row>) => void) {
    super(text, values, callback);
    this.queryMode = 'extended';
  }
}
