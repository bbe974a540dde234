import mysql from 'mysql2/promise';
import type { Connection as CoreConnection, PoolOptions } from 'mysql2';
import type { PoolConnection } from 'mysql2/promise';
import { PoolLife } from '../sql/pool-life.js';
import { stopStatement } from '../sql/stop.js';
import { stopTaggedOn } from './call-tag.js';

// After KILL QUERY, how long the statement may take to stop before the whole connection is
// killed (a KILL QUERY that raced ahead of the statement's start kills nothing).
const KILL_GRACE_MS = 1000;

/** ER_CON_COUNT_ERROR, ER_TOO_MANY_USER_CONNECTIONS, ER_USER_LIMIT_REACHED: no connection for this account now. */
const AT_LIMIT = new Set<unknown>([1040, 1203, 1226]);

/** One mysql2 pool with its life (acquire, close, version) and its way to stop a statement. */
export interface MysqlPool {
  readonly life: PoolLife<PoolConnection>;
  /** Stops the thread's statement: KILL QUERY, then KILL CONNECTION if that is not enough. */
  stopThread(threadId: number | null, finished: Promise<void>): Promise<void>;
  /** Stops the statements of the call tagged `tag`, sent from any process (call-tag.ts): how many. */
  stopTagged(tag: string): Promise<number>;
}

/**
 * Opens a pool on `config` (the values policy already in it). Every new connection gets
 * `time_zone = '+00:00'` first; a KILL runs from a side connection with the same
 * credentials (the pool may be exhausted, and a user may always kill its own threads), or
 * `fallback`'s when the account has no connection left.
 */
export function openMysqlPool(config: PoolOptions, name: string, wrapConnect: (error: unknown, fragmentId?: string) => unknown, fallback?: PoolOptions): MysqlPool {
  const pool = mysql.createPool(config);
  // TIMESTAMP columns and NOW() follow the session time zone; UTC makes them match the
  // policy. Queued here, it runs before the first statement on the new connection.
  pool.on('connection', (connection) => {
    const core = connection as unknown as CoreConnection;
    core.query("SET time_zone = '+00:00'", (error: unknown) => {
      if (error !== null) core.destroy();
    });
  });

  /**
   * Runs `work` on a connection outside the pool, which may be exhausted. An account at its
   * connection limit (`MAX_USER_CONNECTIONS` equal to the pool's size, as a principal's often
   * is) cannot open one: `fallback`'s account (the source's own) runs it instead, where it may.
   */
  async function onSide<T>(work: (side: mysql.Connection) => Promise<T>): Promise<T> {
    let side: mysql.Connection;
    try {
      side = await mysql.createConnection({ ...config, connectTimeout: config.connectTimeout ?? 5000 });
    } catch (error) {
      if (fallback === undefined || !AT_LIMIT.has((error as { errno?: unknown }).errno)) throw error;
      side = await mysql.createConnection({ ...fallback, connectTimeout: fallback.connectTimeout ?? 5000 });
    }
    side.on('error', () => undefined);
    try {
      return await work(side);
    } finally {
      side.destroy();
    }
  }

  /** Runs one KILL from a side connection. */
  async function sideKill(what: 'QUERY' | 'CONNECTION', threadId: number): Promise<void> {
    // An integer from the server's handshake, escaped by mysql2; KILL cannot be prepared.
    await onSide((side) => side.query(`KILL ${what} ?`, [threadId]));
  }

  // mysql2 offers no handle on a connection still connecting: its core pool's list of all
  // connections (read defensively) is the one place they are.
  const all = () =>
    (pool.pool as unknown as { _allConnections?: { length: number; peekBack(): CoreConnection | undefined; toArray(): CoreConnection[] } })._allConnections;
  const life = new PoolLife<PoolConnection>({
    kind: 'mysql',
    name,
    acquire: (done) => {
      const connections = all();
      const before = connections?.length ?? 0;
      pool.getConnection().then((connection) => done(undefined, connection), done);
      // The connection this acquire opened, if the pool had room: a cancel destroys it, so
      // an abandoned connect frees its slot now rather than at connectTimeout.
      const mine = connections !== undefined && connections.length > before ? connections.peekBack() : undefined;
      return mine === undefined ? undefined : () => mine.destroy();
    },
    release: (conn) => conn.release(),
    end: () => pool.end(),
    destroy: () => {
      for (const connection of all()?.toArray() ?? []) connection.destroy();
    },
    lookupVersion: async () => `mysql:${(await pool.query<({ v: string } & mysql.RowDataPacket)[]>('SELECT VERSION() AS v'))[0][0]?.v ?? 'unknown'}`,
    wrapConnect,
  });

  return {
    life,
    async stopThread(threadId, finished) {
      if (threadId === null || !Number.isSafeInteger(threadId)) return;
      await stopStatement(finished, KILL_GRACE_MS, () => sideKill('QUERY', threadId), () => sideKill('CONNECTION', threadId));
    },
    stopTagged: (tag) => onSide((side) => stopTaggedOn(side, tag)),
  };
}
