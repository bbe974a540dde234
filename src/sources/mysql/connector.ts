import type { Connection as CoreConnection, ExecuteValues, FieldPacket, PoolOptions, Query } from 'mysql2';
import type { PoolConnection } from 'mysql2/promise';
import { isMysqlRetryable, mysqlDriverCode, mysqlErrorRule } from './errors.js';
import { mysqlOptionsSchema, type MysqlSourceOptions } from './options.js';
import { columnFixes, streamRows, type ColumnFix } from './stream.js';
import type { ExecuteContext } from '../source.js';
import type { Row } from '../../data/row.js';
import { withColumns } from '../../data/columns.js';
import { AbortWatch, throwIfAborted } from '../sql/abort-watch.js';
import { assertConnectionTarget } from '../sql/target.js';
import { toSourceError, type ErrorPhase } from '../sql/errors.js';
import type { SqlSource } from '../sql/source.js';
import { openMysqlPool, type MysqlPool } from './pool.js';
import { configFor, credentialsFor, DEFAULT_MAX_PRINCIPAL_POOLS, PrincipalPools, type PoolLease } from './credentials.js';
import type { LimitCounter } from '../../data/limits.js';
import { callLimits } from '../call-limits.js';
import { expandListParams } from './placeholders.js';
import { declaredLimits, parseSourceOptions } from '../options.js';
import { sqlQuerySchema, type SqlQuery } from '../sql/query.js';
import { isReadOnlySql } from '../sql/read-only.js';
import { taggedSql } from './call-tag.js';
import { detectServer, mysqlBudgetTimeout, mysqlLimitMs, withStatementLimit, type MysqlServer } from './budget.js';

/** The SourceExecutor mysqlSource returns; a stream pauses the connection between batches. */
export type MysqlSource = SqlSource<'mysql'>;

/**
 * A MariaDB/MySQL source on a mysql2 pool. Query: `{ sql, params? }` with `?` placeholders;
 * a bound list (a JS array in `ctx.params`) expands its `?` into `?, ?, …` (an empty list
 * in `IN (?)` into a subquery of no rows), every value still bound. Aborting `ctx.signal` runs `KILL QUERY` on the
 * server from a separate connection; each statement carries its call's budget as its own
 * server-side limit (mysql/budget.ts), so the server stops it even if this process dies.
 *
 * Statements run with `execute()`, the binary protocol's server-side prepared statements,
 * so values are truly bound (`query()` would splice escaped values into the text on the
 * client). The cost: every distinct SQL text, including each length of an expanded list, is
 * prepared once per connection and cached; the cache is capped by `maxPreparedStatements`
 * (default 100, not mysql2's 16000) because the server's `max_prepared_stmt_count` (16382 by
 * default) is shared by all its clients. Params must match the `?` placeholders one for one
 * (placeholders.ts); under NO_BACKSLASH_ESCAPES a `'\'` literal is read either way, but a
 * text that reads both ways with the same count is scanned as the default mode reads it.
 *
 * @example
 * const shop = mysqlSource({ url: 'mysql://app@db:3306/shop', maxConcurrency: 4 });
 */
export function mysqlSource(options: MysqlSourceOptions = {}): MysqlSource {
  const { kind: _kind, url, maxConcurrency, maxRows, maxBytes, cacheScope, name: sourceName, streamBatchSize, credentials, maxPrincipalPools, statementBudget, ...poolFields } =
    parseSourceOptions('mysql', mysqlOptionsSchema, options);
  assertConnectionTarget('mysql', options, { url, user: poolFields.user, name: sourceName });
  const name = sourceName ?? 'mysql';
  const config: PoolOptions = {
    ...(url === undefined ? {} : { uri: url }),
    ...(poolFields as PoolOptions),
    maxPreparedStatements: poolFields.maxPreparedStatements ?? 100,
    // The values policy: integers as number-or-exact-string, decimals as strings, dates as
    // text (fixed up to ISO in columnFix), JSON as text (parsed there), Date parameters in UTC.
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: false,
    dateStrings: true,
    jsonStrings: true, // parsed in columnFix, integers beyond 2^53 kept exact
    timezone: 'Z',
  };
  const wrap = (error: unknown, phase: ErrorPhase, fragmentId?: string) =>
    toSourceError(error, {
      kind: 'mysql',
      source: name,
      phase,
      fragmentId,
      driverCode: mysqlDriverCode(error),
      rule: mysqlErrorRule(error),
    });
  const wrapConnect = (error: unknown, fragmentId?: string) => wrap(error, 'connect', fragmentId);
  const base = openMysqlPool(config, name, wrapConnect);
  // Per-principal accounts: one small pool each, at most maxPrincipalPools open (LRU).
  const principalPools = credentials === undefined ? undefined : new PrincipalPools(maxPrincipalPools ?? DEFAULT_MAX_PRINCIPAL_POOLS, (c) => openMysqlPool(configFor(config, c), name, wrapConnect, config));

  // Which server this is and its sessions' own limit: asked once, on the first budgeted call.
  let server: Promise<MysqlServer> | undefined;

  /**
   * The statement text carrying the call's tag (call-tag.ts) and its budget as its server-side
   * limit (mysql/budget.ts), and that limit; no limit without a budget or with `statementBudget: false`.
   */
  async function budgeted(conn: PoolConnection, untagged: string, ctx: ExecuteContext): Promise<{ sql: string; limitMs: number | undefined }> {
    const sql = ctx.callTag === undefined ? untagged : taggedSql(untagged, ctx.callTag);
    if (statementBudget === false || ctx.budgetMs === undefined) return { sql, limitMs: undefined };
    try {
      server ??= detectServer(conn.connection as unknown as CoreConnection).catch((error: unknown) => {
        server = undefined;
        throw error;
      });
      const limitMs = mysqlLimitMs(ctx.budgetMs, await server);
      return limitMs === undefined ? { sql, limitMs } : { sql: withStatementLimit(sql, await server, limitMs), limitMs };
    } catch (error) {
      conn.release();
      throw wrap(error, 'query', ctx.fragmentId);
    }
  }

  const ownLease: PoolLease = { pool: base, done: () => undefined };

  /**
   * The pool for this call's principal; `done()` when the call is over. Without `credentials`
   * it answers at once; with them, once the function has answered (it may be async).
   */
  function poolFor(ctx: ExecuteContext): PoolLease | Promise<PoolLease> {
    base.life.assertOpen();
    if (credentials === undefined || principalPools === undefined) return ownLease;
    return credentialsFor(credentials, ctx.principal, name).then((account) => {
      if (account === undefined) return ownLease;
      base.life.assertOpen();
      throwIfAborted(ctx);
      return principalPools.lease(account);
    });
  }

  function run({ life, stopThread }: MysqlPool, conn: PoolConnection, sql: string, values: unknown[], ctx: ExecuteContext, bounds: LimitCounter, limitMs: number | undefined) {
    return new Promise<Row[]>((resolve, reject) => {
      const core = conn.connection as unknown as CoreConnection;
      const rows: Row[] = [];
      let fixes: ColumnFix[] | undefined;
      let names: string[] | undefined;
      let settled = false;
      // Set last, and read by the callbacks above it: an already aborted call runs \`abandon\`
      // from inside AbortWatch's constructor, before the assignment.
      // eslint-disable-next-line prefer-const
      let watch: AbortWatch | undefined;
      let statement: Query;
      try {
        statement = core.execute(sql, values as ExecuteValues[]);
      } catch (error) {
        // mysql2 rejects some values (a function) synchronously, before anything is sent
        conn.release();
        reject(wrap(error, 'query', ctx.fragmentId) as Error);
        return;
      }
      const finished = new Promise<void>((done) => {
        statement.once('end', () => done());
        statement.once('error', () => done());
      });
      const settle = () => {
        settled = true;
        watch?.stop();
        core.removeListener('error', onConnectionError);
      };
      // A fatal connection error (the server killed the thread, the socket was reset) is
      // emitted on the connection, not on a statement run without a callback: without this
      // listener the call would hang until its timeout.
      const onConnectionError = (error: Error & { fatal?: boolean }) => {
        if (settled) return;
        settle();
        conn.destroy();
        reject(wrap(error, 'query', ctx.fragmentId) as Error);
      };
      // The statement is still running (an abort, a limit): reject now, kill it on the
      // server in the background, then destroy the connection. Reusing it could let a late
      // KILL QUERY hit the next statement that runs on it.
      const abandon = (reason: unknown) => {
        if (settled) return;
        settle();
        reject(reason as Error);
        core.on('error', () => undefined); // the killed connection may still report errors
        life.pending.track(async () => {
          try {
            await stopThread(core.threadId, finished);
          } finally {
            conn.destroy();
          }
        });
      };
      statement.on('fields', (fields?: FieldPacket[]) => {
        // undefined for a statement without a result set (an UPDATE's OK packet)
        fixes = columnFixes(fields);
        names = fields?.map((f) => f.name);
      });
      statement.on('result', (row: Row) => {
        if (settled || fixes === undefined) return;
        for (const [column, fix] of fixes) row[column] = fix(row[column]);
        const over = bounds.admit(row);
        if (over === undefined) rows.push(row);
        else abandon(over);
      });
      statement.on('error', (error: Error & { fatal?: boolean }) => {
        if (settled) return;
        settle();
        if (error.fatal === true) conn.destroy();
        else conn.release();
        reject(mysqlBudgetTimeout(error, limitMs) ?? (wrap(error, 'query', ctx.fragmentId) as Error));
      });
      statement.on('end', () => {
        if (settled) return;
        settle();
        conn.release();
        // The field list names the columns even when no row came back.
        resolve(names === undefined ? rows : withColumns(rows, names));
      });
      core.on('error', onConnectionError);
      // Last: an abort that came already abandons the statement at once (from inside the constructor).
      watch = new AbortWatch(ctx, abandon);
    });
  }

  async function materialize(query: SqlQuery, ctx: ExecuteContext): Promise<Row[]> {
    base.life.assertOpen();
    throwIfAborted(ctx);
    const { sql, values } = expandListParams(query.sql, ctx.params, ctx.fragmentId);
    const bounds = callLimits(ctx, { maxRows, maxBytes }, name);
    const leased = poolFor(ctx);
    const lease = leased instanceof Promise ? await leased : leased;
    try {
      const conn = await lease.pool.life.connect(ctx);
      const statement = await budgeted(conn, sql, ctx);
      return await run(lease.pool, conn, statement.sql, values, ctx, bounds, statement.limitMs);
    } finally {
      lease.done();
    }
  }

  async function* stream(query: SqlQuery, ctx: ExecuteContext): AsyncGenerator<Row[]> {
    const { sql, values } = expandListParams(query.sql, ctx.params, ctx.fragmentId);
    const bounds = callLimits(ctx, { maxRows, maxBytes }, name);
    const leased = poolFor(ctx);
    const lease = leased instanceof Promise ? await leased : leased;
    const { life, stopThread } = lease.pool;
    try {
      const deps = { batchSize: streamBatchSize ?? 1000, connect: (c: ExecuteContext) => life.connect(c), budgeted, stopThread, track: (work: () => Promise<void>) => life.pending.track(work) };
      yield* streamRows(sql, values, ctx, bounds, { ...deps, wrap: (error, fragmentId) => wrap(error, 'query', fragmentId) });
    } finally {
      lease.done();
    }
  }

  const source: MysqlSource = {
    kind: 'mysql',
    querySchema: sqlQuerySchema,
    maxConcurrency: maxConcurrency ?? config.connectionLimit ?? 10,
    limits: declaredLimits({ maxRows, maxBytes }),
    // Rows that depend on the principal's account are never shared across principals.
    ...(credentials !== undefined ? { cacheScope: 'principal' as const } : cacheScope === undefined ? {} : { cacheScope }),
    isRetryable: isMysqlRetryable,
    isReadOnly: isReadOnlySql,
    namesColumnsFirst: true, // a streamed statement's prepared columns go out before its first row

    execute: ((query: SqlQuery, ctx: ExecuteContext) => (ctx.stream ? stream(query, ctx) : materialize(query, ctx))) as MysqlSource['execute'],

    // A dead worker's statement, found by its job's tag; as the call's principal, who owns it.
    stopTagged: async (tag, { principal }) => {
      const leased = poolFor({ params: [], signal: new AbortController().signal, ...(principal ? { principal } : {}) });
      const lease = leased instanceof Promise ? await leased : leased;
      try {
        return await lease.pool.stopTagged(tag);
      } finally {
        lease.done();
      }
    },
    version: () => base.life.version(),
    close: async () => {
      await Promise.all([base.life.close(), principalPools?.close()]);
    },
  };
  return source;
}

export { mysqlOptionsSchema, type MysqlSourceOptions };
