import Database from 'better-sqlite3';
import { TributaryError } from '../../errors.js';
import { callLimits } from '../call-limits.js';
import { limitExceeded } from '../../data/limits.js';
import { declaredLimits, parseSourceOptions } from '../options.js';
import type { SqlQuery } from '../sql/query.js';
import { refusedStatement, sqliteQuerySchema } from './statements.js';
import { isReadOnlySql } from '../sql/read-only.js';
import type { ExecuteContext, SourceExecutor } from '../source.js';
import type { Row } from '../../data/row.js';
import { withColumns } from '../../data/columns.js';
import { SqliteThread } from './thread.js';
import { normalizeRow, toSqliteValue } from './convert.js';
import { iterateRows } from './rows.js';
import { cannotOpen, isSqliteRetryable, wrapSqliteError } from './errors.js';
import { sqliteOptionsSchema, type SqliteSourceOptions } from './options.js';

export type { SqliteSourceOptions } from './options.js';

/** Rows per batch when a caller streams. */
const STREAM_BATCH = 1000;

/**
 * SQLite through better-sqlite3, the embedded default. `{ sql, params }` with `?`
 * placeholders; a bound list arrives as ONE JSON text parameter, to be used as
 * `IN (SELECT value FROM json_each(?))`. Integers follow the values policy (safe integers
 * as numbers, larger ones as exact strings).
 *
 * better-sqlite3 is synchronous: a statement, once started, runs to the end on the event
 * loop. Cancellation and timeouts therefore take effect before a statement starts and
 * between its rows, never in the middle of one long step.
 */
export function sqliteSource(options: SqliteSourceOptions): SourceExecutor<SqlQuery> {
  const opts = parseSourceOptions('sqlite', sqliteOptionsSchema, options);
  let db: Database.Database | undefined;
  let closed = false;
  const statements = new Map<string, Database.Statement>();
  const thread = opts.thread ? new SqliteThread(opts.file, opts.readonly ?? false) : undefined;

  const open = (): Database.Database => {
    if (closed) throw new TributaryError('SOURCE_UNAVAILABLE', `sqlite source ${opts.file} is closed`, { retryable: false });
    if (!db) {
      try {
        db = new Database(opts.file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
      } catch (error) {
        throw cannotOpen(opts.file, (error as Error).message, (error as { code?: string }).code, error);
      }
    }
    return db;
  };

  const prepare = (sql: string): Database.Statement => {
    let stmt = statements.get(sql);
    if (!stmt) {
      stmt = open().prepare(sql);
      if (statements.size >= 200) statements.delete(statements.keys().next().value!);
      statements.set(sql, stmt);
    }
    return stmt;
  };

  /** A statement on the source's worker thread; rows come back whole and are normalized here. */
  async function onThread(worker: SqliteThread, query: SqlQuery, ctx: ExecuteContext): Promise<Row[]> {
    if (closed) throw new TributaryError('SOURCE_UNAVAILABLE', `sqlite source ${opts.file} is closed`, { retryable: false });
    const bounds = callLimits(ctx, opts, 'sqlite');
    let rows: Row[];
    try {
      rows = await worker.run(query.sql, ctx.params.map(toSqliteValue), ctx.signal, { maxRows: bounds.maxRows ?? Infinity, maxBytes: bounds.maxBytes }, opts.statementBudget === false ? undefined : ctx.budgetMs);
    } catch (error) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      // The thread stopped past a bound: the error names the fragment, as every connector's does.
      if (error instanceof TributaryError && error.code === 'LIMIT_EXCEEDED') throw limitExceeded({ fragmentId: ctx.fragmentId, source: 'sqlite' }, error.message);
      throw wrapSqliteError(error, query.sql);
    }
    for (const row of rows) bounds.add(normalizeRow(row));
    return rows;
  }

  // Calls take turns on the connection (see execute); `turn` is the tail of the queue.
  let turn: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const result = turn.then(work, work);
    turn = result.catch(() => undefined);
    return result;
  };

  /**
   * Rows in batches through `iterate()`, yielding to the event loop between batches, so a
   * long scan lets other queries' work run and a consumer's pace holds it back.
   */
  async function* streamRows(query: SqlQuery, ctx: ExecuteContext): AsyncGenerator<Row[]> {
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const before = turn;
    turn = turn.then(() => mine);
    await before.catch(() => undefined);
    try {
      let iterator: IterableIterator<Row>;
      // The first batch carries the column names (an empty one when no row comes back).
      let names: string[] | undefined;
      try {
        ctx.signal.throwIfAborted();
        const stmt = prepare(query.sql);
        const params = ctx.params.map(toSqliteValue);
        if (stmt.reader) ({ rows: iterator, names } = iterateRows(stmt, params));
        else iterator = stmt.iterate(...params) as IterableIterator<Row>;
      } catch (error) {
        throw ctx.signal.aborted ? ctx.signal.reason : wrapSqliteError(error, query.sql);
      }
      const bounds = callLimits(ctx, opts, 'sqlite');
      try {
        for (;;) {
          const batch: Row[] = [];
          let next = iterator.next();
          while (!next.done && batch.length < STREAM_BATCH) {
            const row = normalizeRow(next.value);
            bounds.add(row);
            batch.push(row);
            if (batch.length < STREAM_BATCH) next = iterator.next();
          }
          if (batch.length > 0 || names !== undefined) yield names === undefined ? batch : withColumns(batch, names);
          names = undefined;
          if (next.done) return;
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (ctx.signal.aborted) throw ctx.signal.reason;
        }
      } catch (error) {
        throw error instanceof TributaryError || ctx.signal.aborted ? error : wrapSqliteError(error, query.sql);
      } finally {
        iterator.return?.();
      }
    } finally {
      release();
    }
  }

  let version: string | undefined;
  return {
    kind: 'sqlite',
    querySchema: sqliteQuerySchema,
    limits: declaredLimits(opts),
    ...(opts.maxConcurrency === undefined ? {} : { maxConcurrency: opts.maxConcurrency }),
    ...(opts.cacheScope === undefined ? {} : { cacheScope: opts.cacheScope }),
    // Asked by every run (cache keys): the library's version does not change, so ask it once.
    version: () => (version ??= `sqlite:${open().prepare('select sqlite_version() as v').pluck().get() as string}`),
    isRetryable: isSqliteRetryable,
    isReadOnly: isReadOnlySql,
    // On the event loop its first batch comes at once; a thread answers with the whole result.
    namesColumnsFirst: thread === undefined,
    execute(query: SqlQuery, ctx: ExecuteContext): Promise<Row[]> | AsyncIterable<Row[]> {
      if (ctx.signal.aborted) return Promise.reject(ctx.signal.reason as Error);
      // Refused by querySchema already; held here too for a caller that did not validate.
      const refused = refusedStatement(query.sql);
      if (refused !== undefined) return Promise.reject(new TributaryError('FRAGMENT_FAILED', refused, { retryable: false, issues: [{ path: 'query.sql', message: refused }] }));
      // A connection with an open iterator refuses other statements, so calls take turns
      // while a stream is open; a whole-result call is synchronous and cannot interleave.
      if (thread) return onThread(thread, query, ctx);
      if (ctx.stream) return streamRows(query, ctx);
      return exclusive(async () => {
        ctx.signal.throwIfAborted();
        try {
          const stmt = prepare(query.sql);
          const params = ctx.params.map(toSqliteValue);
          if (!stmt.reader) {
            stmt.run(...params);
            return [];
          }
          const bounds = callLimits(ctx, opts, 'sqlite');
          const out: Row[] = [];
          const { rows, names } = iterateRows(stmt, params);
          for (const raw of rows) {
            const row = normalizeRow(raw);
            bounds.add(row);
            out.push(row);
          }
          // The statement names its columns even when no row comes back.
          return withColumns(out, names);
        } catch (error) {
          throw wrapSqliteError(error, query.sql);
        }
      });
    },
    close: async () => {
      closed = true;
      statements.clear();
      db?.close();
      db = undefined;
      await thread?.close();
    },
  };
}
