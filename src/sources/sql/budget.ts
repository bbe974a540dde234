/**
 * The server-side time limit a SQL connector gives one statement from its call's budget
 * (`ExecuteContext.budgetMs`): a whole number of milliseconds, safe to write into SQL text.
 */

/** The smallest limit handed to a server, in ms; tributary's own timer still stops the call at its budget. */
export const MIN_SERVER_BUDGET_MS = 50;

/** The largest limit handed to a server (2^31 - 1 ms); a larger budget sends none. */
export const MAX_SERVER_BUDGET_MS = 2 ** 31 - 1;

/**
 * The budget rounded UP to two significant digits (1_234 → 1_300, 29_873 → 30_000):
 * calls under the same attempt timeout ask for the same value, so a pooled connection that
 * already has it needs no new SET, and the server never stops a statement before tributary's
 * own timer would (it may let it run up to ~10 % longer). At least `MIN_SERVER_BUDGET_MS`, so
 * a nearly spent budget cannot leave a pooled session with a limit that trips the next quick
 * statement (a BEGIN). `undefined` for no budget, one that is not a positive finite number,
 * or one above `MAX_SERVER_BUDGET_MS`.
 */
export function serverBudgetMs(budgetMs: number | undefined): number | undefined {
  if (budgetMs === undefined || !Number.isFinite(budgetMs) || budgetMs <= 0) return undefined;
  const ms = Math.max(MIN_SERVER_BUDGET_MS, Math.ceil(budgetMs));
  if (ms < 100) return ms;
  const step = 10 ** (Math.floor(Math.log10(ms)) - 1);
  const limit = Math.ceil(ms / step) * step;
  // PostgreSQL's statement_timeout is an int4 of ms; a budget past ~24 days is no limit.
  return limit > MAX_SERVER_BUDGET_MS ? undefined : safeMs(limit);
}

/** `ms` if it is a positive safe integer (fit for SQL text), else a RangeError. */
export function safeMs(ms: number): number {
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new RangeError(`a server time limit must be a positive safe integer of ms, got ${ms}`);
  return ms;
}

/**
 * The limit for one statement when the pool's sessions already have one (`base`, e.g.
 * postgresSource's `statement_timeout` option): the budget's when it is stricter, else
 * `undefined` (the session's own limit applies).
 */
export function statementLimitMs(budgetMs: number | undefined, base: number | undefined): number | undefined {
  const limit = serverBudgetMs(budgetMs);
  if (limit === undefined) return undefined;
  return base !== undefined && base > 0 && base <= limit ? undefined : limit;
}
