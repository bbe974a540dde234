import pg from 'pg';

/** `client_connection_check_interval` when the options name none: a dead client's statement stops within about a second. */
export const PG_CONNECTION_CHECK_MS = 1000;

/**
 * The pool's `onConnect` hook that has each new connection ask its backend to check, every
 * `ms` while a statement runs, that the client is still there (PostgreSQL 14+
 * `client_connection_check_interval`): when the process that sent the statement is gone
 * (SIGKILL, a crashed BullMQ worker, a lost host), the server aborts the statement instead of
 * running it to its end or to its `statement_timeout`. The SET runs once per connection,
 * before the pool lends it. A server that does not know the setting (before 14) or cannot
 * honour it (a platform without the check) refuses the SET: that is ignored and the
 * connection is used as before; a connection lost meanwhile fails the acquire, as a failed
 * connect does. `false` or 0: no hook, nothing sent. @internal
 */
export function connectionCheckHook(ms: number | false | undefined): ((client: pg.ClientBase) => Promise<void>) | undefined {
  const interval = ms ?? PG_CONNECTION_CHECK_MS;
  if (interval === false || interval === 0) return undefined;
  // A validated integer (postgres/options.ts), never caller text.
  const sql = `SET client_connection_check_interval = ${Math.trunc(interval)}`;
  return async (client) => {
    try {
      await client.query(sql);
    } catch (error) {
      if (!(error instanceof pg.DatabaseError)) throw error;
    }
  };
}
