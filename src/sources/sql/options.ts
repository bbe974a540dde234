import { z } from 'zod';
import { sourceBoundSchema } from '../options.js';

/** Options every SQL source takes besides its driver's pool options. */
export const sqlSourceOptionsShape = {
  /** A connection URL; the alternative to host/port/user/... fields. */
  url: z.string().min(1).optional(),
  /** Most calls this source runs at once (its lane size); default: the pool's size. */
  maxConcurrency: z.number().int().positive().optional(),
  /** Rows one fragment may return, all its batches together; the smaller of this and the run's limit wins. `Infinity`/`null`: none. */
  maxRows: sourceBoundSchema,
  /**
   * Estimated bytes (`estimateRowBytes`) one fragment may return, all its batches together.
   * Default: the executor's `rowLimits.maxBytes`, else 64 MiB (`DEFAULT_FRAGMENT_MAX_BYTES`);
   * `Infinity`/`null` lifts it for this source. The run's limits still tighten it.
   */
  maxBytes: sourceBoundSchema,
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
