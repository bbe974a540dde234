import type { Connection as CoreConnection, ExecuteValues, FieldPacket, Query } from 'mysql2';
import type { PoolConnection } from 'mysql2/promise';
import type { ExecuteContext } from '../source.js';
import type { Row } from '../../data/row.js';
import { withColumns } from '../../data/columns.js';
import type { LimitCounter } from '../../data/limits.js';
import { mysqlBudgetTimeout } from './budget.js';
import { normalizeDecimal, normalizeFloat32, normalizeInteger, normalizeTimestamp, parseJsonValue } from '../sql/normalize.js';

// mysql2's column type codes (mysql2 Types) that the values policy fixes up.
const FLOAT = 4;
const TIMESTAMP = 7;
const LONGLONG = 8;
const DATETIME = 12;
const DECIMAL = 0;
const NEWDECIMAL = 246;
const JSON_TYPE = 245;

/** A column's values-policy fix-up: `[column name, fix]`. */
export type ColumnFix = [string, (value: unknown) => unknown];

/** The values-policy fix-up for one column, if its driver value needs one. */
function columnFix(field: FieldPacket): ((value: unknown) => unknown) | undefined {
  // jsonStrings gives JSON as text (MySQL's JSON type, MariaDB's LONGTEXT marked json in its
  // extended metadata); JSON.parse would round integers beyond 2^53.
  if ((field as { extendedFormat?: unknown }).extendedFormat === 'json') return parseJsonValue;
  switch (field.columnType ?? field.type) {
    case JSON_TYPE:
      return parseJsonValue;
    case LONGLONG: // mysql2 already gives number-or-string; this also canonicalizes
      return (v) => (typeof v === 'number' || typeof v === 'string' ? normalizeInteger(v) : v);
    case DECIMAL:
    case NEWDECIMAL: // decimalNumbers: false gives the exact text
      return (v) => (typeof v === 'string' ? normalizeDecimal(v) : v);
    case FLOAT: // the binary protocol gives the float32's double value
      return (v) => (typeof v === 'number' ? normalizeFloat32(v) : v);
    case TIMESTAMP:
    case DATETIME: {
      // dateStrings gives 'YYYY-MM-DD HH:MM:SS[.ffffff]' in the session's UTC
      const places = field.decimals;
      return (v) => (typeof v === 'string' ? serverFraction(normalizeTimestamp(v), places) : v);
    }
    default:
      return undefined;
  }
}

/** A date or time with no fraction (in the binary protocol, one of zero), kept as text. */
const WHOLE_SECONDS = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

/**
 * A DATETIME(n) / TIMESTAMP(n) value left as the server's text (a zero or partly zero date,
 * which no ISO instant holds) with its `places` fraction digits, as the server writes it:
 * the binary protocol leaves out a fraction of zero (`'0000-00-00 00:00:00'` for the
 * server's `'0000-00-00 00:00:00.000'`). An ISO instant is left as it is.
 */
function serverFraction(text: string, places: number): string {
  return places > 0 && places <= 6 && WHOLE_SECONDS.test(text) ? `${text}.${'0'.repeat(places)}` : text;
}

/**
 * The fix-ups of a result set's columns; `undefined` for a statement without one. A name the
 * statement repeats holds its last column's value in the row, so that column's fix (or none)
 * is the one applied.
 */
export function columnFixes(fields: FieldPacket[] | undefined): ColumnFix[] | undefined {
  if (fields === undefined) return undefined;
  const byName = new Map<string, ((value: unknown) => unknown) | undefined>();
  for (const f of fields) {
    byName.delete(f.name);
    byName.set(f.name, columnFix(f));
  }
  return [...byName].filter((entry): entry is ColumnFix => entry[1] !== undefined);
}

/** What streaming needs from its MySQL source. */
export interface MysqlStreamDeps {
  /** Rows per batch. */
  batchSize: number;
  connect(ctx: ExecuteContext): Promise<PoolConnection>;
  /** The text carrying the call's budget as the statement's server-side limit (mysql/budget.ts), and that limit. */
  budgeted(conn: PoolConnection, sql: string, ctx: ExecuteContext): Promise<{ sql: string; limitMs: number | undefined }>;
  /** Stops the thread's running statement (KILL QUERY, then KILL CONNECTION). */
  stopThread(threadId: number | null, finished: Promise<void>): Promise<void>;
  /** Runs server-side cleanup in the background, awaited by `close()`. */
  track(work: () => Promise<void>): void;
  wrap(error: unknown, fragmentId?: string): unknown;
}

/**
 * A statement's rows (prepared, values bound) in batches of `batchSize`. When a batch is full
 * and the consumer has not asked for the next one, the connection is paused (the socket is
 * not read, so the server blocks on its writes); asking resumes it. Stopping early, an abort,
 * or a row/byte bound stops the statement on the server (KILL QUERY from a side connection)
 * and destroys the connection instead of returning it to the pool.
 */
export async function* streamRows(sql: string, values: unknown[], ctx: ExecuteContext, bounds: LimitCounter, deps: MysqlStreamDeps): AsyncGenerator<Row[]> {
  const conn = await deps.connect(ctx);
  const core = conn.connection as unknown as CoreConnection;
  const { sql: text, limitMs } = await deps.budgeted(conn, sql, ctx);
  const ready: Row[][] = [];
  let batch: Row[] = [];
  let fixes: ColumnFix[] | undefined;
  let names: string[] | undefined;
  let first = true;
  // The first batch carries the column names (an empty one when no row comes back).
  const queue = (rows: Row[]): void => {
    if (first && names !== undefined) withColumns(rows, names);
    first = false;
    ready.push(rows);
  };
  let failure: { error: unknown } | undefined;
  let ended = false; // the statement is over on the server (end, or error)
  let fatal = false; // the connection is unusable
  let paused = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  let statement: Query;
  try {
    // Prepared first (mysql2 keeps it, so execute does not prepare it again): the server's
    // answer lists the columns before the statement runs, and they go out at once.
    core.prepare(text, (error, prepared) => {
      const columns = error ? undefined : (prepared as { columns?: readonly FieldPacket[] }).columns;
      if (columns === undefined || columns.length === 0 || !first) return;
      queue(withColumns([], columns.map((c) => c.name)));
      notify();
    });
    statement = core.execute(text, values as ExecuteValues[]);
  } catch (error) {
    // mysql2 rejects some values (a function) synchronously, before anything is sent
    conn.release();
    throw deps.wrap(error, ctx.fragmentId);
  }
  const fail = (error: unknown): void => {
    failure ??= { error };
    notify();
  };
  const finished = new Promise<void>((done) => {
    statement.once('end', () => done());
    statement.once('error', () => done());
  });
  const onFields = (fields?: FieldPacket[]): void => {
    fixes = columnFixes(fields);
    names = fields?.map((f) => f.name);
  };
  const onResult = (row: Row): void => {
    if (failure !== undefined || fixes === undefined) return;
    for (const [column, fix] of fixes) row[column] = fix(row[column]);
    const over = bounds.admit(row);
    if (over !== undefined) return fail(over);
    batch.push(row);
    if (batch.length < deps.batchSize) return;
    queue(batch);
    batch = [];
    if (wake !== undefined) notify();
    else if (!paused) {
      paused = true;
      core.pause();
    }
  };
  const onError = (error: Error & { fatal?: boolean }): void => {
    ended = true;
    if (error.fatal === true) fatal = true;
    fail(ctx.signal.aborted ? ctx.signal.reason : (mysqlBudgetTimeout(error, limitMs) ?? deps.wrap(error, ctx.fragmentId)));
  };
  const onEnd = (): void => {
    ended = true;
    if (batch.length > 0 || (first && names !== undefined)) queue(batch);
    batch = [];
    notify();
  };
  // A fatal connection error (the thread was killed, the socket reset) is emitted on the
  // connection, not on a statement run without a callback.
  const onConnectionError = (error: Error): void => {
    ended = true;
    fatal = true;
    fail(ctx.signal.aborted ? ctx.signal.reason : deps.wrap(error, ctx.fragmentId));
  };
  const onAbort = (): void => fail(ctx.signal.reason);
  statement.on('fields', onFields);
  statement.on('result', onResult);
  statement.on('error', onError);
  statement.on('end', onEnd);
  core.on('error', onConnectionError);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      if (failure !== undefined) throw failure.error;
      if (ctx.signal.aborted) throw ctx.signal.reason;
      // The consumer asked for a batch: let the server go on filling the next one.
      if (paused) {
        paused = false;
        core.resume();
      }
      const next = ready.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    statement.removeListener('fields', onFields);
    statement.removeListener('result', onResult);
    statement.removeListener('end', onEnd);
    statement.removeListener('error', onError);
    core.removeListener('error', onConnectionError);
    ready.length = 0;
    if (ended && !fatal) {
      if (paused) core.resume();
      conn.release();
    } else if (ended) {
      conn.destroy();
    } else {
      // The statement may still be running (stopped early, aborted, over a bound): kill it on
      // the server, then destroy the connection so a late KILL QUERY cannot hit the next
      // statement that would run on it. Resumed so the server is not blocked writing to us.
      const swallow = (): undefined => undefined;
      core.on('error', swallow);
      statement.on('error', swallow);
      if (paused) core.resume();
      deps.track(async () => {
        try {
          await deps.stopThread(core.threadId, finished);
        } finally {
          conn.destroy();
        }
      });
    }
  }
}
