import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { eventually, type Admin } from './servers.js';

/**
 * Server-side faults with no proxy in between: terminate or cancel the backend running a
 * fragment (`pg_terminate_backend`, `KILL CONNECTION`, `KILL QUERY`), a forced deadlock,
 * and a per-role connection limit that is already used up. Statements are found by a tag,
 * a unique SQL comment (`/* flt_1f3a9c0b *\/`) the scenario puts in its queries, which
 * also tells whether anything is left running afterwards.
 *
 * Nothing here changes server-wide settings: connection limits live on a scratch role or
 * user made for one scenario and dropped after it.
 */

/** A unique tag for one scenario's SQL: put `/* ${tag} *\/` in every statement. */
export function sqlTag(): string {
  return `flt_${randomBytes(4).toString('hex')}`;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Statements carrying `tag` that PostgreSQL is running now (not idle), other than the admin's. */
export async function pgRunning(admin: Admin, tag: string): Promise<number> {
  const [row] = await admin.exec(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE state <> 'idle' AND query LIKE $1 AND pid <> pg_backend_pid()`,
    [`%/* ${tag} */%`],
  );
  return Number(row?.n ?? 0);
}

/** Statements carrying `tag` that MariaDB/MySQL is running now, other than the admin's. */
export async function mysqlRunning(admin: Admin, tag: string): Promise<number> {
  const [row] = await admin.exec(
    `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST
      WHERE INFO LIKE ? AND ID <> CONNECTION_ID() AND COMMAND <> 'Sleep'`,
    [`%/* ${tag} */%`],
  );
  return Number(row?.n ?? 0);
}

/** Waits until a backend runs a statement tagged `tag`, then terminates or cancels it; its pid. */
export async function pgKillWhenRunning(admin: Admin, tag: string, how: 'terminate' | 'cancel', timeoutMs = 5000): Promise<number> {
  const pid = await waitFor(timeoutMs, async () => {
    const [row] = await admin.exec(
      `SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid() LIMIT 1`,
      [`%/* ${tag} */%`],
    );
    return row === undefined ? undefined : Number(row.pid);
  });
  await admin.exec(how === 'terminate' ? 'SELECT pg_terminate_backend($1)' : 'SELECT pg_cancel_backend($1)', [pid]);
  return pid;
}

/** Waits until a thread runs a statement tagged `tag`, then `KILL CONNECTION` / `KILL QUERY` it; its id. */
export async function mysqlKillWhenRunning(admin: Admin, tag: string, what: 'CONNECTION' | 'QUERY', timeoutMs = 5000): Promise<number> {
  const id = await waitFor(timeoutMs, async () => {
    const [row] = await admin.exec(
      `SELECT ID AS id FROM information_schema.PROCESSLIST
        WHERE INFO LIKE ? AND ID <> CONNECTION_ID() AND COMMAND <> 'Sleep' LIMIT 1`,
      [`%/* ${tag} */%`],
    );
    return row === undefined ? undefined : Number(row.id);
  });
  // An integer the server reported, escaped by mysql2; KILL cannot be prepared.
  await admin.exec(`KILL ${what} ?`, [id]);
  return id;
}

async function waitFor<T>(timeoutMs: number, look: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await look();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no tagged statement showed up within ${timeoutMs} ms`);
    await sleep(15);
  }
}

/**
 * A deadlock between a locker (an admin connection in a transaction) and the engine's
 * statement `SELECT … ORDER BY id FOR UPDATE` over rows 1 and 2 of `table`. `arm()` takes
 * row 2 (with an UPDATE, so the server picks the engine's lighter side as the victim);
 * `close()` waits until the engine holds row 1 and waits for row 2, then asks for row 1,
 * which closes the cycle; it rolls back once the server has broken it.
 */
export interface ForcedDeadlock {
  arm(): Promise<void>;
  close(): Promise<void>;
  /** Rolls the locker's transaction back (idempotent). */
  release(): Promise<void>;
}

/**
 * PostgreSQL: the engine's connection must run with a short `deadlock_timeout` (e.g. the
 * source option `options: '-c deadlock_timeout=300'`), the locker's is long, so the check
 * that finds the cycle runs in the engine's backend and aborts it with 40P01.
 */
export function pgDeadlock(locker: Admin, watcher: Admin, table: string, tag: string): ForcedDeadlock {
  let open = false;
  return {
    async arm() {
      await locker.exec('BEGIN');
      open = true;
      await locker.exec(`SET LOCAL deadlock_timeout = '20s'`);
      await locker.exec(`UPDATE ${table} SET v = v + 1 WHERE id = 2`);
    },
    async close() {
      await waitFor(5000, async () => {
        const [row] = await watcher.exec(
          `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1 AND pid <> pg_backend_pid() LIMIT 1`,
          [`%/* ${tag} */%`],
        );
        return row?.pid;
      });
      // Blocks until the engine's side is aborted and its lock on row 1 is gone.
      await locker.exec(`UPDATE ${table} SET v = v + 1 WHERE id = 1`);
      await this.release();
    },
    async release() {
      if (!open) return;
      open = false;
      await locker.exec('ROLLBACK');
    },
  };
}

/** MariaDB/MySQL: InnoDB finds the cycle at once and rolls back the lighter side, the engine's (no writes). */
export function mysqlDeadlock(locker: Admin, watcher: Admin, table: string, tag: string): ForcedDeadlock {
  let open = false;
  return {
    async arm() {
      await locker.exec('BEGIN');
      open = true;
      await locker.exec(`UPDATE ${table} SET v = v + 1 WHERE id = 2`);
    },
    async close() {
      // INNODB_TRX is a cached view that often does not list the waiter (MariaDB 10.11); the
      // monitor's report does: the engine's transaction, in LOCK WAIT, running the tagged statement.
      await waitFor(5000, async () => {
        const [row] = await watcher.exec('SHOW ENGINE INNODB STATUS');
        const status = String(row?.Status ?? '');
        const at = status.indexOf(`/* ${tag} */`);
        if (at < 0) return undefined;
        const section = status.slice(status.lastIndexOf('---TRANSACTION', at), at);
        return section.includes('LOCK WAIT') ? true : undefined;
      });
      await locker.exec(`UPDATE ${table} SET v = v + 1 WHERE id = 1`).catch(() => undefined);
      await this.release();
    },
    async release() {
      if (!open) return;
      open = false;
      await locker.exec('ROLLBACK');
    },
  };
}

/**
 * A login limited to one connection, granted SELECT on `tables`: `occupy()` takes that one
 * slot from outside the source (so the source's connect fails with "too many connections"),
 * `free()` gives it back, `drop()` removes the login. The server's own max_connections is
 * never touched.
 */
export interface LimitedLogin {
  name: string;
  url: string;
  occupy(): Promise<void>;
  free(): Promise<void>;
  drop(): Promise<void>;
}

/** A PostgreSQL role with `CONNECTION LIMIT 1`. */
export async function limitedPgRole(admin: Admin, baseUrl: string, tables: string[]): Promise<LimitedLogin> {
  const name = `flt_role_${randomBytes(4).toString('hex')}`;
  await admin.exec(`CREATE ROLE ${name} LOGIN CONNECTION LIMIT 1`);
  for (const t of tables) await admin.exec(`GRANT SELECT ON ${t} TO ${name}`);
  const u = new URL(baseUrl);
  u.username = name;
  u.password = '';
  const url = u.toString();
  let holder: pg.Client | undefined;
  const free = async (): Promise<void> => {
    const h = holder;
    holder = undefined;
    await h?.end().catch(() => undefined);
  };
  return {
    name,
    url,
    async occupy() {
      // The slot may still be held for a moment by a backend that is exiting.
      const ok = await eventually(async () => {
        const client = new pg.Client({ connectionString: url });
        client.on('error', () => undefined);
        try {
          await client.connect();
          holder = client;
          return true;
        } catch {
          await client.end().catch(() => undefined);
          return false;
        }
      }, 3000);
      if (!ok) throw new Error(`could not take the one connection of role ${name}`);
    },
    free,
    async drop() {
      await free();
      await eventually(async () => {
        await admin.exec('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [name]);
        try {
          await admin.exec(`DROP OWNED BY ${name}`);
          await admin.exec(`DROP ROLE IF EXISTS ${name}`);
          return true;
        } catch {
          return false;
        }
      }, 3000);
    },
  };
}

/** A MariaDB/MySQL user `WITH MAX_USER_CONNECTIONS 1`. */
export async function limitedMysqlUser(admin: Admin, baseUrl: string, tables: string[]): Promise<LimitedLogin> {
  const name = `flt_user_${randomBytes(4).toString('hex')}`;
  await admin.exec(`CREATE USER '${name}'@'%' WITH MAX_USER_CONNECTIONS 1`);
  for (const t of tables) await admin.exec(`GRANT SELECT ON ${t} TO '${name}'@'%'`);
  const u = new URL(baseUrl);
  u.username = name;
  u.password = '';
  const url = u.toString();
  let holder: mysql.Connection | undefined;
  const free = async (): Promise<void> => {
    const h = holder;
    holder = undefined;
    if (!h) return;
    // COM_QUIT rather than a bare close, so the server frees the slot before the retry comes…
    await h.end().catch(() => h.destroy());
    // …and the server's books say so: the thread may take a moment to end after the quit, and
    // a probe that connects before then is refused with 1226 (seen under load).
    await eventually(async () => Number((await admin.exec('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?', [name]))[0]!.n) === 0, 3000);
  };
  return {
    name,
    url,
    async occupy() {
      const ok = await eventually(async () => {
        try {
          holder = await mysql.createConnection({ uri: url });
          holder.on('error', () => undefined);
          return true;
        } catch {
          return false;
        }
      }, 3000);
      if (!ok) throw new Error(`could not take the one connection of user ${name}`);
    },
    free,
    async drop() {
      await free();
      await admin.exec(`DROP USER IF EXISTS '${name}'@'%'`);
    },
  };
}
