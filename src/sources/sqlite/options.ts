import { z } from 'zod';
import { sourceBoundSchema } from '../options.js';

/** `sqliteSource` options, validated when the source is created. */
export const sqliteOptionsSchema = z.strictObject({
  /** The database file; `:memory:` for a private in-memory database. */
  file: z.string().min(1),
  /** Open read-only (the file must exist). Default false. */
  readonly: z.boolean().optional(),
  maxConcurrency: z.number().int().positive().optional(),
  /** As the SQL sources' (see `sqlSourceOptionsShape`): per fragment, `Infinity`/`null` for none. */
  maxRows: sourceBoundSchema,
  /** As the SQL sources' (see `sqlSourceOptionsShape`): default the executor's `rowLimits.maxBytes`, else 64 MiB. */
  maxBytes: sourceBoundSchema,
  cacheScope: z.enum(['principal', 'shared']).optional(),
  /**
   * Run statements on a worker thread instead of the event loop: a long query then blocks
   * nothing else, and an abort (timeout, cancel) terminates the thread, really stopping it.
   * Costs a structured-clone copy of the rows; calls take turns on the thread.
   */
  thread: z.boolean().optional(),
  /**
   * With `thread`, default true: a call's budget (`ExecuteContext.budgetMs`) terminates its
   * thread when it runs out, even while the main thread is busy. false: only an abort does.
   */
  statementBudget: z.boolean().optional(),
});
export type SqliteSourceOptions = z.input<typeof sqliteOptionsSchema>;
