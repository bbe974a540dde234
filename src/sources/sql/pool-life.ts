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
   * callback, not a promise: it is on every statement's path). May return a cancel, called
   * if the caller gives up first: it stops a connect this acquire started, so an abandoned
   * acquire does not hold a slot while the server never answers.
   */
  acquire(done: (error: unknown, connection?: C) => void): (() => void) | void;
  /** Gives a connection back, unused (it arrived after the caller gave up). */
  release(connection: C): void;
  /** Ends the pool. */
  end(): Promise<void>;
  /** Destroys what `end` has not closed in time (connections stuck connecting or lent). */
  destroy(): void;
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
// How long close() waits for the pool to end before destroying what is left, and then for
// the destroyed connections to go.
const CLOSE_GRACE_MS = 1000;

/** Resolves true when `p` settles within `ms`, false otherwise (the timer never holds the process). */
function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    timer.unref?.();
    const done = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    p.then(done, done);
  });
}

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
    let cancel: (() => void) | void = undefined;
    const watch = new AbortWatch(ctx, (reason) => {
      abandoned = true;
      to.failed(reason);
      cancel?.();
    });
    // The pool may answer at once (an ending pool does): the watch is set before it is asked.
    let answered = false;
    // A method, not an arrow: under tsx (esbuild's keepNames) a named arrow costs a defineProperty per call.
    const { arrived } = { arrived(error: unknown, connection?: C): void {
      if (answered) return;
      answered = true;
      watch.stop();
      cancel = undefined;
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
    } };
    try {
      cancel = driver.acquire(arrived);
      if (answered) cancel = undefined;
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

  /**
   * Ends the pool once the background cancels are done; idempotent. Bounded: a pool that
   * has not ended within a second (a connect the server never answers) has what is left
   * destroyed, and close() returns at most a second after that.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.pending.drain();
      const ended = this.#driver.end().catch(() => undefined);
      if (await settlesWithin(ended, CLOSE_GRACE_MS)) return;
      this.#driver.destroy();
      await settlesWithin(ended, CLOSE_GRACE_MS);
    })();
    return this.#closing;
  }
}
