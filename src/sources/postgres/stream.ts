import Cursor from 'pg-cursor';
import pg from 'pg';
import type { Connection, CustomTypesConfig } from 'pg';
import type { PgLease } from './role.js';
import type { ExecuteContext } from '../source.js';
import type { Row } from '../../data/row.js';
import { withColumns } from '../../data/columns.js';
import type { LimitCounter } from '../../data/limits.js';
import type { SqlQuery } from '../sql/query.js';
import { budgetTimeout } from './budget.js';
import { bindValues } from './types.js';
import { postgresErrorRule } from './errors.js';

/** What streaming needs from its PostgreSQL source. */
export interface PgStreamDeps {
  types: CustomTypesConfig;
  /** Rows per cursor read (one batch). */
  batchSize: number;
  /** A connection for this statement (in the principal's role transaction, if any). */
  connect(ctx: ExecuteContext): Promise<PgLease>;
  /** Stops the backend's running statement (cancel, then terminate). */
  stopBackend(pid: number | undefined, finished: Promise<void>): Promise<void>;
  /** Runs server-side cleanup in the background, awaited by `close()`. */
  track(work: () => Promise<void>): void;
  wrap(error: unknown, fragmentId?: string): unknown;
}

/**
 * A statement's rows through a server-side cursor (pg-cursor), one batch per read. The next
 * batch is fetched only when the consumer asks for it, so a slow consumer holds the server
 * back instead of filling memory. Stopping early closes the cursor; an abort during a read
 * cancels the statement on the server and the client is destroyed, not reused; a statement
 * the server rejects gives its client back (a broken connection destroys it). The
 * statement's `statement_timeout` (its budget) bounds each read on the server; a read it
 * stops is a TIMEOUT. The column names go out first, in an empty batch, as soon as the server
 * describes the statement (before it has produced a row: a union's other inputs wait for them).
 */
export async function* streamRows(query: SqlQuery, ctx: ExecuteContext, bounds: LimitCounter, deps: PgStreamDeps): AsyncGenerator<Row[]> {
  const lease = await deps.connect(ctx);
  const client = lease.client;
  const cursor = new Cursor<Row>(query.sql, bindValues(ctx.params), { types: deps.types });
  const described = whenDescribed(cursor);
  client.query(cursor);
  let reading: Promise<Row[]> | undefined;
  let released = false;
  const release = async (error?: Error): Promise<void> => {
    if (released) return;
    released = true;
    ctx.signal.removeEventListener('abort', onAbort);
    described.off();
    await lease.release(error);
  };
  const abandon = (): void => {
    // A read is in flight: the statement is running on the server. Stop it there, then
    // destroy the client so a late cancel cannot hit the next statement on it.
    const pid = (client as unknown as { processID?: number | null }).processID ?? undefined;
    const finished = (reading ?? Promise.resolve([])).then(
      () => undefined,
      () => undefined,
    );
    deps.track(async () => {
      try {
        await deps.stopBackend(pid, finished);
      } finally {
        await release(new Error('cursor abandoned (cancelled, stopped early or over a limit)'));
      }
    });
  };
  const onAbort = (): void => {
    if (reading) abandon();
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  let first = true;
  try {
    for (;;) {
      ctx.signal.throwIfAborted();
      const readAt = performance.now();
      reading = readBatch(cursor, deps.batchSize);
      if (first) {
        // The server describes the statement before it runs it: its names go out at once.
        const names = await abortable(Promise.race([described.names, reading.then(noNames, noNames)]), ctx.signal);
        if (names !== undefined) {
          first = false;
          yield withColumns([], names);
        }
      }
      let batch: Row[];
      try {
        batch = await abortable(reading, ctx.signal);
      } catch (error) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        if (error instanceof pg.DatabaseError && postgresErrorRule(error)?.unavailable !== true) {
          // The server rejected the statement: it is over there (pg-cursor has sent the Sync),
          // so the connection goes back to the pool, as after a whole-result call's error.
          reading = undefined;
          await release().catch(() => undefined);
        }
        throw budgetTimeout(error, lease.limitMs, performance.now() - readAt) ?? deps.wrap(error, ctx.fragmentId);
      }
      reading = undefined;
      // The first batch carries the column names; with no rows at all it is empty.
      if (batch.length === 0) {
        if (first) yield batch;
        break;
      }
      first = false;
      for (const row of batch) bounds.add(row);
      yield batch;
    }
  } finally {
    if (reading !== undefined && !released) {
      if (!ctx.signal.aborted) abandon();
    } else if (!released) {
      // Between reads nothing runs on the server: closing the cursor ends the portal.
      await cursor.close().catch(() => undefined);
      await release().catch(() => undefined);
    }
  }
}

const noNames = (): undefined => undefined;

/**
 * The column names of `cursor`'s statement as soon as the server describes it (its
 * RowDescription, which comes before the first row: pg-cursor describes the portal before it
 * executes it). Wraps `submit` (before the cursor is queried) to hear the message on the
 * connection, as pg-cursor itself does; `off()` drops the listener if it never came (an error,
 * a statement without rows), so it cannot fire for the connection's next statement.
 */
function whenDescribed(cursor: Cursor<Row>): { names: Promise<string[]>; off(): void } {
  let connection: Connection | undefined;
  let resolve!: (names: string[]) => void;
  const names = new Promise<string[]>((r) => (resolve = r));
  const onDescription = (message: { fields?: readonly { name: string }[] }): void => resolve((message.fields ?? []).map((f) => f.name));
  const submit = cursor.submit;
  cursor.submit = (con) => {
    submit.call(cursor, con);
    connection = con;
    con.once('rowDescription', onDescription);
  };
  return { names, off: () => void connection?.removeListener('rowDescription', onDescription) };
}

/** One cursor read; the rows carry the statement's column names (`withColumns`) when pg reports them. */
function readBatch(cursor: Cursor<Row>, size: number): Promise<Row[]> {
  return new Promise<Row[]>((resolve, reject) => {
    cursor.read(size, (error, rows, result) => {
      if (error) reject(error);
      else resolve(result?.fields === undefined ? rows : withColumns(rows, result.fields.map((f) => f.name)));
    });
  });
}

/** Rejects with the signal's reason as soon as it aborts, without waiting for `promise`. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}
