import pg from 'pg';
import type { CustomTypesConfig, PoolClient, PoolConfig } from 'pg';
import { isPostgresRetryable, postgresDriverCode, postgresErrorRule } from './errors.js';
import { streamRows } from './stream.js';
import type { ExecuteContext } from '../source.js';
import type { Row } from '../../data/row.js';
import { withColumns } from '../../data/columns.js';
import { assertConnectionTarget } from '../sql/target.js';
import { toSourceError, type ErrorPhase } from '../sql/errors.js';
import { PoolLife } from '../sql/pool-life.js';
import type { SqlSource } from '../sql/source.js';
import { stopStatement } from '../sql/stop.js';
import type { LimitCounter } from '../../data/limits.js';
import { callLimits } from '../call-limits.js';
import { declaredLimits, parseSourceOptions } from '../options.js';
import { sqlQuerySchema, type SqlQuery } from '../sql/query.js';
import { isReadOnlySql } from '../sql/read-only.js';
import { postgresOptionsSchema, type PostgresSourceOptions } from './options.js';
import { bindValues, policyTypes } from './types.js';
import { leaseAs, PlainLease, roleFor, type PgLease } from './role.js';
import { budgetTimeout, PgStatementTimeouts } from './budget.js';
import { OneStatement } from './statement.js';
import { AbortWatch, isAborted } from '../sql/abort-watch.js';
import { openPgPool } from './pool.js';

export type { PostgresSourceOptions } from './options.js';

/** The SourceExecutor postgresSource returns; a stream reads through a server-side cursor. */
export type PostgresSource = SqlSource<'postgres'>;

// After pg_cancel_backend, how long the statement may take to stop before its backend is terminated (a cancel that raced ahead of its start cancels nothing).
const CANCEL_GRACE_MS = 1000;

/**
 * A PostgreSQL source on a `pg` Pool. Query: `{ sql, params? }` with `$1` placeholders; a
 * bound list (a JS array in `ctx.params`) is sent as ONE array parameter, so write
 * `= ANY($1)`. Values follow the policy of sql/normalize.ts (type parsers are installed per pool,
 * never globally). Aborting `ctx.signal` cancels the statement on the server, and each
 * statement runs under its call's budget as `statement_timeout` (postgres/budget.ts), so the
 * server stops it by itself even if this process dies.
 *
 * @example
 * const shop = postgresSource({ url: 'postgres://app@db/shop', maxConcurrency: 4 });
 */
export function postgresSource(options: PostgresSourceOptions = {}): PostgresSource {
  const { kind: _kind, url, maxConcurrency, maxRows, maxBytes, cacheScope, name: sourceName, types, streamBatchSize, role, statementBudget, connectionCheckMs, ...poolFields } =
    parseSourceOptions('postgres', postgresOptionsSchema, options);
  assertConnectionTarget('postgres', options, { url, connectionString: poolFields.connectionString, user: poolFields.user, name: sourceName });
  const name = sourceName ?? 'postgres';
  const config: PoolConfig = {
    ...(poolFields as PoolConfig),
    ...(url === undefined ? {} : { connectionString: url }),
    types: policyTypes(types ?? pg.types),
  };
  const pgPool = openPgPool(config, connectionCheckMs);
  const pool = pgPool.pool;
  // An idle client whose server goes away emits 'error' on the pool (a crash without a listener).
  pool.on('error', () => undefined);
  const timeouts = new PgStatementTimeouts(statementBudget ?? true, poolFields.statement_timeout);

  const wrap = (error: unknown, phase: ErrorPhase, fragmentId?: string) =>
    toSourceError(error, {
      kind: 'postgres',
      source: name,
      phase,
      fragmentId,
      driverCode: postgresDriverCode(error),
      rule: postgresErrorRule(error),
    });

  /** Runs one statement on a short-lived client outside the pool, which may be exhausted. */
  async function sideQuery(text: string, values: unknown[]): Promise<void> {
    const side = new pg.Client({ ...config, connectionTimeoutMillis: config.connectionTimeoutMillis || 5000 });
    side.on('error', () => undefined);
    try {
      await side.connect();
      await side.query(text, values);
    } finally {
      await side.end().catch(() => undefined);
    }
  }

  const life = new PoolLife<PoolClient>({
    kind: 'postgres',
    name,
    acquire: (done) => pgPool.acquire(done),
    release: (client) => client.release(),
    end: () => pgPool.end(),
    destroy: () => pgPool.destroy(),
    lookupVersion: async () => `postgres:${await pgPool.serverVersion()}`,
    wrapConnect: (error, fragmentId) => wrap(error, 'connect', fragmentId),
  });

  /**
   * pg emits socket failures on the client as well as failing its statement; without a
   * listener that second report would crash the process. The pool takes its own listener
   * off a client it lends, so each client gets this one once, for its whole life.
   */
  const muted = new WeakSet<PoolClient>();
  function muteErrors(client: PoolClient): void {
    if (muted.has(client)) return;
    muted.add(client);
    client.on('error', () => undefined);
  }

  /** Stops the backend's statement: cancel it, and terminate the backend if that is not enough. */
  async function stopBackend(pid: number | undefined, finished: Promise<void>): Promise<void> {
    if (pid === undefined) return;
    await stopStatement(
      finished,
      CANCEL_GRACE_MS,
      () => sideQuery('SELECT pg_cancel_backend($1)', [pid]),
      () => sideQuery('SELECT pg_terminate_backend($1)', [pid]),
    );
  }

  /** Runs the statement on `lease`: `resolve` with its rows, or `reject`, once. */
  function run(lease: PgLease, query: SqlQuery, ctx: ExecuteContext, bounds: LimitCounter, resolve: (rows: Row[]) => void, reject: (error: Error) => void): void {
    const client = lease.client;
    let settled = false;
    // Set last, and read by the callbacks above it: an already aborted call runs \`abandon\`
    // from inside AbortWatch's constructor, before the assignment.
    // eslint-disable-next-line prefer-const
    let watch: AbortWatch | undefined;
    // Set once the statement is abandoned: called when it has stopped on the server.
    let stopped: (() => void) | undefined;
    // pg calls back exactly once: with the rows, or with the error.
    const statement = new OneStatement(query.sql, bindValues(ctx.params), (error, result) => {
      stopped?.();
      if (settled) return;
      settled = true;
      watch?.stop();
      if (error) {
        // A server-reported error leaves the connection usable; anything else breaks it.
        const broken = !(error instanceof pg.DatabaseError) || postgresErrorRule(error)?.unavailable === true;
        const failed = budgetTimeout(error, lease.limitMs, performance.now() - startedAt) ?? (wrap(error, 'query', ctx.fragmentId) as Error);
        const fail = () => reject(failed);
        whenReleased(lease.release(broken ? error : undefined), fail, fail);
        return;
      }
      // The field list names the columns even when no row came back.
      const rows = result.rows as Row[];
      const out = result.fields === undefined ? rows : withColumns(rows, result.fields.map((f) => f.name));
      whenReleased(
        lease.release(),
        () => resolve(out),
        (e) => reject(wrap(e, 'query', ctx.fragmentId) as Error),
      );
    });
    // The statement is still running (an abort, a limit): reject now, stop it on the
    // server in the background, then destroy the client. Reusing it could let a late
    // cancel hit the next statement that runs on it. A method, not an arrow: tsx's keepNames names each arrow (see allRows).
    const { abandon } = { abandon(reason: unknown): void {
      if (settled) return;
      settled = true;
      watch?.stop();
      reject(reason as Error);
      const finished = new Promise<void>((done) => (stopped = done));
      const pid = (client as unknown as { processID?: number | null }).processID ?? undefined;
      life.pending.track(async () => {
        try {
          await stopBackend(pid, finished);
        } finally {
          void lease.release(new Error('statement abandoned (cancelled or over a limit)'));
        }
      });
    } };
    // Rows are counted only under a bound; pg keeps them in the result either way.
    if (bounds.bounded) {
      statement.on('row', (row: Row, result) => {
        if (settled) {
          // Abandoned: drop what still arrives until the cancel lands.
          if (result !== undefined) result.rows.length = 0;
          return;
        }
        const over = bounds.admit(row);
        if (over !== undefined) abandon(over);
      });
    }
    const startedAt = performance.now();
    client.query(statement);
    // After sending: a call aborted already cancels the statement it just sent (from
    // inside the constructor, before \`watch\` is set: hence the optional calls above).
    watch = new AbortWatch(ctx, abandon);
  }

  /**
   * A pooled connection for one statement, as the principal's role when `role` maps one, its
   * `statement_timeout` set to the call's budget (postgres/budget.ts).
   */
  const connect = async (ctx: ExecuteContext): Promise<PgLease> => {
    const as = roleFor(role, ctx.principal, name);
    return leaseOf(await life.connect(ctx), as, ctx);
  };

  /**
   * The lease of `client` for one statement. Synchronous on the hot path: no role, the limit
   * known and the session already set to it (nothing to send, nothing to wait for).
   */
  function leaseOf(client: PoolClient, as: string | undefined, ctx: ExecuteContext): PgLease | Promise<PgLease> {
    muteErrors(client);
    if (as !== undefined) return preparedLease(client, as, ctx);
    let limit: number | undefined | Promise<number | undefined>;
    try {
      limit = timeouts.limitFor(client, ctx.budgetMs);
    } catch {
      return preparedLease(client, as, ctx);
    }
    if (limit instanceof Promise || !timeouts.hasSession(client, limit)) return preparedLease(client, as, ctx);
    const lease = new PlainLease(client, limit);
    if (isAborted(ctx)) {
      lease.release();
      throw ctx.signal.reason;
    }
    return lease;
  }

  /** `leaseOf` when something must be sent or awaited first: the role's transaction, a SET. */
  async function preparedLease(client: PoolClient, as: string | undefined, ctx: ExecuteContext): Promise<PgLease> {
    let limitMs: number | undefined;
    try {
      const limit = timeouts.limitFor(client, ctx.budgetMs);
      limitMs = limit instanceof Promise ? await limit : limit;
      const setting = as === undefined ? timeouts.applySession(client, limitMs) : undefined;
      if (setting !== undefined) await setting;
    } catch (error) {
      client.release(error as Error);
      throw wrap(error, 'query', ctx.fragmentId);
    }
    const leased = leaseAs(client, as, name, limitMs, as === undefined ? undefined : timeouts.localSql(client, limitMs));
    const lease = leased instanceof Promise ? await leased : leased;
    if (isAborted(ctx)) {
      await lease.release()?.catch(() => undefined);
      throw ctx.signal.reason;
    }
    return lease;
  }

  /**
   * One statement, all rows: a connection (sql/pool-life.ts), its lease, the statement. One
   * promise for the caller and callbacks inside: this is a point query's whole path.
   */
  function allRows(query: SqlQuery, ctx: ExecuteContext, bounds: LimitCounter): Promise<Row[]> {
    return new Promise<Row[]>((resolve, reject) => {
      const as = roleFor(role, ctx.principal, name);
      // No closure bound to a name per call: under tsx (esbuild's keepNames) each costs a defineProperty.
      life.connectWith(ctx, {
        connected(client) {
          try {
            const lease = leaseOf(client, as, ctx);
            if (lease instanceof Promise) lease.then((l) => run(l, query, ctx, bounds, resolve, reject)).catch(reject);
            else run(lease, query, ctx, bounds, resolve, reject);
          } catch (error) {
            reject(error as Error);
          }
        },
        failed: reject,
      });
    });
  }

  /**
   * Settles a statement once its connection is back: at once when the release was
   * synchronous (no role), else when the role's transaction has ended.
   */
  function whenReleased(release: Promise<void> | undefined, done: () => void, failed: (error: unknown) => void): void {
    if (release === undefined) done();
    else release.then(done, failed);
  }

  const source: PostgresSource = {
    kind: 'postgres',
    querySchema: sqlQuerySchema,
    maxConcurrency: maxConcurrency ?? config.max ?? 10,
    limits: declaredLimits({ maxRows, maxBytes }),
    // Rows that depend on the principal's role are never shared across principals.
    ...(role !== undefined ? { cacheScope: 'principal' as const } : cacheScope === undefined ? {} : { cacheScope }),
    isRetryable: isPostgresRetryable,
    isReadOnly: isReadOnlySql,
    namesColumnsFirst: true, // a streamed statement's RowDescription goes out before its first row
    execute: ((query: SqlQuery, ctx: ExecuteContext) => {
      const bounds = callLimits(ctx, { maxRows, maxBytes }, name);
      if (ctx.stream) {
        return streamRows(query, ctx, bounds, {
          types: config.types as CustomTypesConfig,
          batchSize: streamBatchSize ?? 1000,
          connect,
          stopBackend,
          track: (work) => life.pending.track(work),
          wrap: (error, fragmentId) => wrap(error, 'query', fragmentId),
        });
      }
      return allRows(query, ctx, bounds);
    }) as PostgresSource['execute'],

    version: () => life.version(),
    close: () => life.close(),
  };
  return source;
}
