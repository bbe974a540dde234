import pg from 'pg';
import type { PoolClient } from 'pg';
import { TributaryError } from '../../errors.js';
import { safeMs, statementLimitMs } from '../sql/budget.js';

/** A session whose limit is not known (a SET failed midway): the next statement sets it again. */
const UNKNOWN = -1;

/**
 * Each PostgreSQL statement's `statement_timeout`, from its call's budget, so the server
 * stops the statement by itself even if tributary's process dies.
 *
 * A plain pooled connection keeps its limit as a session setting (`SET statement_timeout`),
 * remembered per connection: a statement whose limit equals what its connection already has
 * (the same attempt timeout, rounded: sql/budget.ts) sends nothing extra; only a change costs
 * one round trip (and `RESET statement_timeout` when a call without a budget follows one
 * with). A statement in a role's transaction (`leaseAs`) gets `SET LOCAL statement_timeout`
 * in the same message as its `SET LOCAL ROLE`: no extra round trip, and the transaction's end
 * undoes it.
 *
 * The session's own limit (the pool's `statement_timeout` option, or the server's or login
 * role's default, read once per pool from `pg_settings.reset_val`) wins when it is stricter:
 * a budget never loosens a limit the DBA set.
 */
export class PgStatementTimeouts {
  readonly #enabled: boolean;
  readonly #option: number | undefined;
  readonly #current = new WeakMap<PoolClient, number>();
  #base: Promise<number | undefined> | undefined;
  /** The sessions' default once known (`#base` settled), so the hot path needs no await. */
  #baseKnown: { ms: number | undefined } | undefined;
  /** The last budget asked about once the default was known, and its limit. */
  #last: { budgetMs: number; limit: number | undefined } = { budgetMs: NaN, limit: undefined };

  /** `option`: the pool's `statement_timeout` (sent at connect, so every session's default). */
  constructor(enabled: boolean, option: number | false | undefined) {
    this.#enabled = enabled;
    this.#option = typeof option === 'number' ? option : undefined;
    if (typeof option === 'number') this.#baseKnown = { ms: option };
  }

  /**
   * The statement's limit in ms on `client`, or undefined: none beyond the session's own.
   * Synchronous once the sessions' default is known (the point-query path awaits nothing).
   */
  limitFor(client: PoolClient, budgetMs: number | undefined): number | undefined | Promise<number | undefined> {
    if (!this.#enabled || budgetMs === undefined) return undefined;
    const known = this.#baseKnown;
    if (known === undefined) return this.#sessionDefault(client).then((ms) => statementLimitMs(budgetMs, ms));
    // Calls under the same attempt timeout ask with the same budget: the last answer stands.
    if (budgetMs !== this.#last.budgetMs) this.#last = { budgetMs, limit: statementLimitMs(budgetMs, known.ms) };
    return this.#last.limit;
  }

  /** True when a plain connection's session already has `limit` (undefined: its default). */
  hasSession(client: PoolClient, limit: number | undefined): boolean {
    return this.#current.get(client) === limit;
  }

  /**
   * Brings a plain connection's session to `limit` (undefined: its default): undefined when
   * it already has it (nothing sent), else the one SET / RESET.
   */
  applySession(client: PoolClient, limit: number | undefined): Promise<void> | undefined {
    if (this.hasSession(client, limit)) return undefined;
    const text = limit === undefined ? 'RESET statement_timeout' : `SET statement_timeout = ${safeMs(limit)}`;
    this.#current.set(client, UNKNOWN);
    return client.query(text).then(() => {
      if (limit === undefined) this.#current.delete(client);
      else this.#current.set(client, limit);
    });
  }

  /** The `SET LOCAL` for a role's transaction on `client`, or undefined when the session's limit is right. */
  localSql(client: PoolClient, limit: number | undefined): string | undefined {
    if (limit !== undefined) return `SET LOCAL statement_timeout = ${safeMs(limit)}`;
    // A plain call left its budget on the session: this statement goes without one.
    return this.#current.has(client) ? 'SET LOCAL statement_timeout TO DEFAULT' : undefined;
  }

  /** The sessions' default limit (0 or absent: none), looked up once per pool. */
  #sessionDefault(client: PoolClient): Promise<number | undefined> {
    if (this.#option !== undefined) return Promise.resolve(this.#option);
    this.#base ??= client.query<{ v: string }>("SELECT reset_val AS v FROM pg_settings WHERE name = 'statement_timeout'").then(
      (r) => {
        const value = Number(r.rows[0]?.v);
        const ms = Number.isSafeInteger(value) && value > 0 ? value : undefined;
        this.#baseKnown = { ms };
        this.#last = { budgetMs: NaN, limit: undefined };
        return ms;
      },
      (error: unknown) => {
        this.#base = undefined;
        throw error;
      },
    );
    return this.#base;
  }
}

/**
 * A statement the server stopped at the limit tributary gave it (SQLSTATE 57014, "canceling
 * statement due to statement timeout"), as a TIMEOUT; undefined for any other error. A
 * 57014 counts when its message says so, or (a server with localized messages) when the
 * statement ran at least as long as its limit.
 */
export function budgetTimeout(error: unknown, limitMs: number | undefined, ranMs: number): TributaryError | undefined {
  if (limitMs === undefined || !(error instanceof pg.DatabaseError) || error.code !== '57014') return undefined;
  if (!/statement timeout/i.test(error.message) && ranMs < limitMs) return undefined;
  return new TributaryError('TIMEOUT', `PostgreSQL stopped the statement at its ${limitMs} ms budget (statement_timeout): ${error.message}`, {
    cause: error,
    driverCode: '57014',
  });
}
