import pg from 'pg';
import type { PoolClient, PoolConfig } from 'pg';
import { connectionCheckHook } from './connection-check.js';

/**
 * How long a new connection may take to become ready when the options name no
 * `connectionTimeoutMillis` (pg's own default is to wait forever, so a black-holed server
 * would hold the pool's slots for good). mysql2's `connectTimeout` default is the same.
 */
export const PG_CONNECT_TIMEOUT_MS = 10_000;

/** A pg Pool whose connections the source can still reach while they connect. */
export interface PgPool {
  readonly pool: pg.Pool;
  /**
   * `pool.connect`, calling back `done` once; returns a cancel that destroys the connection
   * this acquire is opening, if it opened one that is not ready yet (its slot is freed at
   * once instead of when the connect gives up); for an acquire the full pool queued, the
   * cancel takes it out of the queue, so no connection is opened or lent for it later.
   */
  acquire(done: (error: unknown, client?: PoolClient) => void): (() => void) | undefined;
  /**
   * The server's version (`SHOW server_version`) through the pool, given up after the connect
   * timeout: a cache key waits for it outside any call's timeout, so it must not wait on
   * statements holding every connection (a failed lookup only bypasses the cache).
   */
  serverVersion(): Promise<string>;
  /** Ends the pool; connections still connecting are destroyed, not waited for. */
  end(): Promise<void>;
  /** Destroys every connection still open (what `end` could not close in time). */
  destroy(): void;
}

interface Tracked extends pg.Client {
  ready?: boolean;
}

function destroySocket(client: Tracked): void {
  (client as unknown as { connection?: { stream?: { destroy?(): void } } }).connection?.stream?.destroy?.();
}

/** An acquire the full pool queued: its entry in pg-pool's queue, then the client opened for it. */
interface Waiter {
  item: unknown;
  client?: Tracked;
}

/**
 * Opens a pg Pool on `config`, with the default connect timeout and its clients tracked. The
 * connect timeout is each new client's own (pg's Client option): given to the pool, pg-pool
 * would also fail a call that merely waits in its queue for a busy connection with "timeout
 * exceeded when trying to connect" — the server unavailable, to the classifier, when it is
 * only busy. A wait in the queue is bounded by the call's own timeout, which withdraws it.
 */
export function openPgPool(config: PoolConfig, connectionCheckMs?: number | false): PgPool {
  const connectMs = config.connectionTimeoutMillis ?? PG_CONNECT_TIMEOUT_MS;
  const clients = new Set<Tracked>();
  // Sent on each new connection before it is lent: until it is done the connection is still
  // connecting (an abort destroys it).
  const hook = connectionCheckHook(connectionCheckMs);
  const check =
    hook &&
    (async (client: pg.ClientBase): Promise<void> => {
      await hook(client);
      (client as Tracked).ready = true;
    });
  // pg-pool has no way to withdraw a waiter nor to name the client it opens for one: its
  // queue (read defensively) is the one place, and a client is constructed synchronously
  // inside the call that opens it (our `pool.connect`, or the pool handing a freed slot to
  // the front of its queue).
  const queue = (): unknown[] | undefined => (pool as unknown as { _pendingQueue?: unknown[] })._pendingQueue;
  const waiters = new Set<Waiter>();
  let acquiring = false;
  let opened: Tracked | undefined;
  const track = (client: Tracked): void => {
    clients.add(client);
    if (acquiring) {
      opened = client;
      return;
    }
    const queued = queue();
    for (const w of waiters) {
      if (w.client === undefined && !queued?.includes(w.item)) {
        w.client = client;
        return;
      }
    }
  };
  class TrackedClient extends pg.Client {
    ready = false;
    constructor(options?: pg.ClientConfig) {
      super({ ...options, connectionTimeoutMillis: connectMs });
      track(this);
      if (check === undefined) this.once('connect', () => (this.ready = true));
      this.once('end', () => clients.delete(this));
    }
  }
  const pool = new pg.Pool({
    ...config,
    connectionTimeoutMillis: 0,
    Client: TrackedClient as unknown as PoolConfig['Client'],
    ...(check === undefined ? {} : { onConnect: check as unknown as PoolConfig['onConnect'] }),
  });
  const stopConnecting = (client: Tracked | undefined): void => {
    if (client !== undefined && client.ready !== true) destroySocket(client);
  };
  return {
    pool,
    acquire(done) {
      const pending = queue();
      const before = pending?.length ?? 0;
      const w: Waiter = { item: undefined };
      opened = undefined;
      acquiring = true;
      try {
        pool.connect((error, client) => {
          waiters.delete(w);
          done(error, client);
        });
      } finally {
        acquiring = false;
      }
      const mine = opened as Tracked | undefined;
      opened = undefined;
      if (mine !== undefined) return () => stopConnecting(mine);
      if (pending === undefined || pending.length <= before) return undefined;
      w.item = pending[pending.length - 1];
      waiters.add(w);
      return () => {
        waiters.delete(w);
        const at = pending.indexOf(w.item);
        if (at >= 0) pending.splice(at, 1);
        else stopConnecting(w.client);
      };
    },
    serverVersion() {
      const asked = pool.query<{ server_version: string }>('SHOW server_version').then((r) => r.rows[0]?.server_version ?? 'unknown');
      if (!(connectMs > 0)) return asked;
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timeout exceeded when trying to connect: no connection free for the version lookup within ${connectMs} ms`)), connectMs);
        timer.unref?.();
        asked.then(
          (version) => {
            clearTimeout(timer);
            resolve(version);
          },
          (error: unknown) => {
            clearTimeout(timer);
            reject(error as Error);
          },
        );
      });
    },
    end() {
      const ended = pool.end();
      for (const client of clients) stopConnecting(client);
      return ended;
    },
    destroy() {
      for (const client of clients) destroySocket(client);
    },
  };
}
