import pg from 'pg';
import type { CustomTypesConfig, PoolClient, PoolConfig, QueryConfig } from 'pg';
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
import { parseSourceOptions } from '../options.js';
import { sqlQuerySchema, type SqlQuery } from '../sql/query.js';
import { isReadOnlySql } from '../sql/read-only.js';
import { postgresOptionsSchema, type PostgresSourceOptions } from './options.js';
import { policyTypes } from './types.js';
import { leaseAs, roleFor } from './role.js';
import { budgetTimeout, PgStatementTimeouts } from './budget.js';
import type { TimedLease } from './stream.js';
import { AbortWatch, isAborted } from '../sql/abort-watch.js';

export type { PostgresSourceOptions } from './options.js';

/** The SourceExecutor postgresSource returns; a stream reads through a server-side cursor. */
export type PostgresSource = SqlSource<'postgres'>;

// After pg_cancel_backend, how long the statement may take to stop before its backend is
// terminated (a cancel that raced ahead of the statement's start cancels nothing).
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
  const { kind: _kind, url, maxConcurrency, maxRows, maxBytes, cacheScope, name: sourceName, types, streamBatchSize, role, statementBudget, ...poolFields } =
    parseSourceOptions('postgres', postgresOptionsSchema, options);
  assertConnectionTarget('postgres', options, { url, connectionString: poolFields.connectionString, user: poolFields.user, name: sourceName });
  const name = sourceName ?? 'postgres';
  const config: PoolConfig = {
    ...(poolFields as PoolConfig),
    ...(url === undefined ? {} : { connectionString: url }),
    types: policyTypes(types ?? pg.types),
  };
  const pool = new pg.Pool(config);
  // An idle client whose server goes away emits 'error' on the pool, which would crash the
  // process without a listener; the pool drops that client by itself.
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
    acquire: () => pool.connect(),
    release: (client) => client.release(),
    end: () => pool.end(),
    lookupVersion: async () => `postgres:${(await pool.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? 'unknown'}`,
    wrapConnect: (error, fragmentId) => wrap(error, 'connect', fragmentId),
  });

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

  function run(lease: TimedLease, query: SqlQuery, ctx: ExecuteContext, bounds: LimitCounter): Promise<Row[]> {
    const client = lease.client;
    return new Promise<Row[]>((resolve, reject) => {
      const rows: Row[] = [];
      let settled = false;
      // 'extended' makes pg use Parse/Bind/Execute even without params, so the text is ONE
      // statement: 'SELECT 1; DROP TABLE t' is rejected instead of run.
      const config = { text: query.sql, values: ctx.params, queryMode: 'extended' } as QueryConfig;
      const statement = new pg.Query(config);
      const finished = new Promise<void>((done) => {
        statement.once('end', () => done());
        statement.once('error', () => done());
      });
      // pg emits socket failures on the client as well as failing the statement; without a
      // listener that second report would crash the process.
      const swallow = () => undefined;
      client.on('error', swallow);
      const settle = () => {
        settled = true;
        watch.stop();
      };
      // The statement is still running (an abort, a limit): reject now, stop it on the
      // server in the background, then destroy the client. Reusing it could let a late
      // cancel hit the next statement that runs on it.
      const abandon = (reason: unknown) => {
        if (settled) return;
        settle();
        reject(reason as Error);
        const pid = (client as unknown as { processID?: number | null }).processID ?? undefined;
        life.pending.track(async () => {
          try {
            await stopBackend(pid, finished);
          } finally {
            void lease.release(new Error('statement abandoned (cancelled or over a limit)'));
          }
        });
      };
      statement.on('row', (row: Row) => {
        if (settled) return;
        const over = bounds.admit(row);
        if (over === undefined) rows.push(row);
        else abandon(over);
      });
      statement.on('error', (error: Error) => {
        if (settled) return;
        settle();
        // A server-reported error leaves the connection usable; anything else breaks it.
        const broken = !(error instanceof pg.DatabaseError) || postgresErrorRule(error)?.unavailable === true;
        if (!broken) client.removeListener('error', swallow);
        const failed = budgetTimeout(error, lease.limitMs, performance.now() - startedAt) ?? (wrap(error, 'query', ctx.fragmentId) as Error);
        // Settled once the connection is back (a role's transaction ended).
        lease.release(broken ? error : undefined).then(
          () => reject(failed),
          () => reject(failed),
        );
      });
      statement.on('end', (result?: pg.QueryResult) => {
        if (settled) return;
        settle();
        client.removeListener('error', swallow);
        // The field list names the columns even when no row came back.
        const out = result?.fields === undefined ? rows : withColumns(rows, result.fields.map((f) => f.name));
        lease.release().then(
          () => resolve(out),
          (e: unknown) => reject(wrap(e, 'query', ctx.fragmentId) as Error),
        );
      });
      const startedAt = performance.now();
      client.query(statement);
      // After sending: a call aborted already cancels the statement it just sent.
      const watch = new AbortWatch(ctx, abandon);
    });
  }

  /**
   * A pooled connection for one statement, as the principal's role when `role` maps one, its
   * `statement_timeout` set to the call's budget (postgres/budget.ts).
   */
  const connect = async (ctx: ExecuteContext): Promise<TimedLease> => {
    const as = roleFor(role, ctx.principal, name);
    const client = await life.connect(ctx);
    let limitMs: number | undefined;
    try {
      // Both answer at once on the hot path (the limit known, the session already set).
      const limit = timeouts.limitFor(client, ctx.budgetMs);
      limitMs = limit instanceof Promise ? await limit : limit;
      const setting = as === undefined ? timeouts.applySession(client, limitMs) : undefined;
      if (setting !== undefined) await setting;
    } catch (error) {
      client.release(error as Error);
      throw wrap(error, 'query', ctx.fragmentId);
    }
    const lease = await leaseAs(client, as, name, as === undefined ? undefined : timeouts.localSql(client, limitMs));
    if (isAborted(ctx)) {
      await lease.release().catch(() => undefined);
      throw ctx.signal.reason;
    }
    return { client: lease.client, release: (destroy) => lease.release(destroy), limitMs };
  };

  const source: PostgresSource = {
    kind: 'postgres',
    querySchema: sqlQuerySchema,
    maxConcurrency: maxConcurrency ?? config.max ?? 10,
    // Rows that depend on the principal's role are never shared across principals.
    ...(role !== undefined ? { cacheScope: 'principal' as const } : cacheScope === undefined ? {} : { cacheScope }),
    isRetryable: isPostgresRetryable,
    isReadOnly: isReadOnlySql,

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
      return connect(ctx).then((lease) => run(lease, query, ctx, bounds));
    }) as PostgresSource['execute'],

    version: () => life.version(),
    close: () => life.close(),
  };
  return source;
}
