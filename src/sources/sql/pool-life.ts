import { TributaryError } from '../../errors.js';
import type { ExecuteContext } from '../source.js';
import { AbortWatch, isAborted, throwIfAborted } from './abort-watch.js';
import { PendingWork } from './pending-work.js';

/** Who hears how `PoolLife.connectWith` ended: exactly one of the two, once. */
export interface Connecting<C> {
  connected(connection: C): void;
  failed(error: unknown): void;
}

/** What a pooled SQL source tells its `PoolLife` about its driver. */
export interface PoolDriver<C> {
  kind: string;
  /** The source's name, for error messages. */
  name: string;
  /**
   * Takes a connection from the pool: `done(undefined, connection)` or `done(error)`, once (a
   * callback, not a promise: it is on every statement's path).
   */
  acquire(done: (error: unknown, connection?: C) => void): void;
  /** Gives a connection back, unused (it arrived after the caller gave up). */
  release(connection: C): void;
  /** Ends the pool. */
  end(): Promise<void>;
  /** The server's version text (`postgres:16.2`). */
  lookupVersion(): Promise<string>;
  /** A driver error met while connecting, as the source reports it. */
  wrapConnect(error: unknown, fragmentId?: string): unknown;
}

/**
 * The life of a pooled SQL source, the same for every driver: abort-aware connection
 * acquisition, the server version (looked up once; a failed lookup is not cached),
 * background cancels to finish before the pool ends, and an idempotent `close()`.
 */
export class PoolLife<C> {
  /** Server-side cancels still running; `close()` waits for them. */
  readonly pending = new PendingWork();
  readonly #driver: PoolDriver<C>;
  #closing: Promise<void> | undefined;
  #version: Promise<string> | undefined;

  constructor(driver: PoolDriver<C>) {
    this.#driver = driver;
  }

  /** Throws CLOSED once `close()` has been called. */
  assertOpen(): void {
    if (this.#closing !== undefined) throw new TributaryError('CLOSED', `${this.#driver.kind} source ${this.#driver.name} is closed`);
  }

  /** A pooled connection, unless the signal aborts first (a late one goes back to the pool). */
  connect(ctx: ExecuteContext): Promise<C> {
    return new Promise<C>((resolve, reject) => this.connectWith(ctx, { connected: resolve, failed: reject }));
  }

  /**
   * `connect` without a promise: `to.connected(connection)`, or `to.failed(error)` (CLOSED,
   * the call's abort reason, or the driver's error as `wrapConnect` reports it). A connection
   * that arrives after the call was aborted goes back to the pool. The abort is watched
   * without creating the call's signal (sql/abort-watch.ts).
   */
  connectWith(ctx: ExecuteContext, to: Connecting<C>): void {
    try {
      this.assertOpen();
      throwIfAborted(ctx);
    } catch (error) {
      to.failed(error);
      return;
    }
    const driver = this.#driver;
    let abandoned = false;
    const watch = new AbortWatch(ctx, (reason) => {
      abandoned = true;
      to.failed(reason);
    });
    // The pool may answer at once (an ending pool does): the watch is set before it is asked.
    let answered = false;
    const arrived = (error: unknown, connection?: C): void => {
      if (answered) return;
      answered = true;
      watch.stop();
      const ok = (error === undefined || error === null) && connection !== undefined;
      if (abandoned) {
        if (ok) driver.release(connection);
        return;
      }
      if (!ok) to.failed(driver.wrapConnect(error, ctx.fragmentId));
      else if (isAborted(ctx)) {
        driver.release(connection);
        to.failed(ctx.signal.reason);
      } else to.connected(connection);
    };
    try {
      driver.acquire(arrived);
    } catch (error) {
      arrived(error);
    }
  }

  version(): Promise<string> {
    this.#version ??= this.#driver.lookupVersion().catch((error: unknown) => {
      this.#version = undefined;
      throw this.#driver.wrapConnect(error);
    });
    return this.#version;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.pending.drain();
      await this.#driver.end();
    })();
    return this.#closing;
  }
}
