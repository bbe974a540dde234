import { z } from 'zod';

/** Options every SQL source takes besides its driver's pool options. */
export const sqlSourceOptionsShape = {
  /** A connection URL; the alternative to host/port/user/... fields. */
  url: z.string().min(1).optional(),
  /** Most calls this source runs at once (its lane size); default: the pool's size. */
  maxConcurrency: z.number().int().positive().optional(),
  /** Rows one call may return; the smaller of this and the plan's limit wins. */
  maxRows: z.number().int().positive().optional(),
  /** Estimated bytes one call may return (see `estimateValueBytes`). */
  maxBytes: z.number().int().positive().optional(),
  cacheScope: z.enum(['principal', 'shared']).optional(),
  /**
   * Default true: each statement carries its call's budget (`ExecuteContext.budgetMs`) to the
   * server as its own time limit (PostgreSQL `statement_timeout`, MariaDB
   * `max_statement_time`, MySQL `MAX_EXECUTION_TIME`), so the server stops it even if this
   * process dies. false: only tributary's own timer and cancel.
   */
  statementBudget: z.boolean().optional(),
  /** The name in error messages; default: the kind. */
  name: z.string().min(1).optional(),
};
