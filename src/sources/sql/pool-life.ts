import { TributaryError } from '../../errors.js';
import type { ExecuteContext } from '../source.js';
import { acquireOrAbort } from './acquire.js';
import { isAborted, throwIfAborted } from './abort-watch.js';
import { PendingWork } from './pending-work.js';

/** What a pooled SQL source tells its `PoolLife` about its driver. */
export interface PoolDriver<C> {
  kind: string;
  /** The source's name, for error messages. */
  name: string;
  /** Takes a connection from the pool. */
  acquire(): Promise<C>;
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
  async connect(ctx: ExecuteContext): Promise<C> {
    this.assertOpen();
    throwIfAborted(ctx);
    const driver = this.#driver;
    let connection: C;
    try {
      connection = await acquireOrAbort(driver.acquire(), ctx, (late) => driver.release(late));
    } catch (error) {
      throw isAborted(ctx) && error === ctx.signal.reason ? error : driver.wrapConnect(error, ctx.fragmentId);
    }
    if (isAborted(ctx)) {
      driver.release(connection);
      throw ctx.signal.reason;
    }
    return connection;
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
