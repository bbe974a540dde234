import type { Redis } from 'ioredis';
import { TributaryError } from '../errors.js';

/** How `redisStore` waits for Redis: at most `timeoutMs` per call, then steps aside. */
export interface RedisGuardOptions {
  timeoutMs: number;
  /** After a failure, calls fail at once for this long instead of waiting again. */
  cooldownMs: number;
  /** Reset the connection after a timeout (only for a client the store owns). */
  resetOnTimeout: boolean;
}

/**
 * Guards every call to Redis with a bounded wait. A call first needs a ready connection:
 * a client that has not connected yet is connected and waited for (within the budget); one
 * that is reconnecting fails at once. The command then races the rest of the budget. A
 * failure opens a short cooldown during which calls fail at once, so a dead Redis costs
 * each lookup nothing instead of `timeoutMs`; the next call after it probes again. An
 * unanswered command stays queued in ioredis until its connection closes, so after a
 * timeout a connection the store owns is reset: a blackholed server cannot pile them up.
 *
 * Failures reject with a `SOURCE_UNAVAILABLE` TributaryError whose message is the reason
 * (it becomes the `reason` of the `cache.unavailable` event).
 */
export class RedisGuard {
  readonly #client: Redis;
  readonly #options: RedisGuardOptions;
  #lastError: string | undefined;
  #openUntil = 0;
  #closed = false;
  #connecting: Promise<void> | undefined;
  #stopWaiting: (() => void) | undefined;
  readonly #onError = (error: Error): void => {
    this.#lastError = error.message;
  };
  readonly #onReady = (): void => {
    this.#openUntil = 0;
  };

  constructor(client: Redis, options: RedisGuardOptions) {
    this.#client = client;
    this.#options = options;
    // Without a listener, ioredis reports every failed reconnect on stderr.
    client.on('error', this.#onError);
    client.on('ready', this.#onReady);
  }

  /** Runs `op` on a ready connection within `budgetMs` (default `timeoutMs`). */
  async run<T>(what: string, op: (client: Redis) => Promise<T>, options: { budgetMs?: number } = {}): Promise<T> {
    const budgetMs = options.budgetMs ?? this.#options.timeoutMs;
    const deadline = performance.now() + budgetMs;
    await this.#ready(deadline, budgetMs);
    const pending = op(this.#client);
    try {
      return await withDeadline(pending, deadline, () => this.#timedOut(`redis did not answer ${what} within ${budgetMs} ms`));
    } catch (error) {
      if (error instanceof TributaryError) throw error;
      // A reply error (a wrong type, a script error) says Redis is up: no cooldown for it.
      if ((error as Error | undefined)?.name !== 'ReplyError') this.#trip((error as Error | undefined)?.message ?? String(error));
      throw unavailable(`redis failed ${what}: ${(error as Error | undefined)?.message ?? String(error)}`, error);
    }
  }

  /** Stops guarding: later calls fail at once; the listeners are removed. */
  close(): void {
    this.#closed = true;
    this.#stopWaiting?.();
    this.#client.off('error', this.#onError);
    this.#client.off('ready', this.#onReady);
  }

  /** Starts connecting a client that has not connected yet, so that the first lookup finds it ready. */
  warm(): void {
    if (this.#client.status === 'wait') this.#client.connect().catch(() => undefined);
  }

  async #ready(deadline: number, budgetMs: number): Promise<void> {
    if (this.#closed) throw unavailable('the redis store is closed');
    if (performance.now() < this.#openUntil) throw unavailable(`redis is unavailable (${this.#lastError ?? 'no connection'}); skipped until it recovers`);
    const client = this.#client;
    switch (client.status) {
      case 'ready':
        return;
      case 'wait':
        client.connect().catch(() => undefined); // the failure arrives as an 'error' event
        break;
      case 'connecting':
      case 'connect':
        break;
      default: {
        // reconnecting, close, end: known to be down right now
        const reason = `redis is not connected (${client.status}${this.#lastError ? `: ${this.#lastError}` : ''})`;
        this.#trip(reason);
        throw unavailable(reason);
      }
    }
    await withDeadline(this.#whenReady(), deadline, () => this.#timedOut(`redis was not ready within ${budgetMs} ms`));
  }

  /**
   * Settles when the connection is ready, or fails to connect. One wait (one set of
   * listeners on the client) shared by every caller, whatever their number.
   */
  #whenReady(): Promise<void> {
    this.#connecting ??= new Promise<void>((resolve, reject) => {
      const client = this.#client;
      const done = (error?: TributaryError): void => {
        client.off('ready', onReady);
        client.off('error', onError);
        client.off('end', onEnd);
        this.#connecting = undefined;
        this.#stopWaiting = undefined;
        if (error) reject(error);
        else resolve();
      };
      const onReady = (): void => done();
      const onError = (error: Error): void => {
        this.#trip(error.message);
        done(unavailable(`redis could not connect: ${error.message}`, error));
      };
      const onEnd = (): void => done(unavailable('redis connection ended'));
      client.on('ready', onReady);
      client.on('error', onError);
      client.on('end', onEnd);
      this.#stopWaiting = () => done(unavailable('the redis store is closed'));
    });
    return this.#connecting;
  }

  #timedOut(reason: string): TributaryError {
    // Reset the connection once per outage, not once per caller that timed out.
    if (this.#trip(reason) && this.#options.resetOnTimeout && !this.#closed) this.#client.disconnect(true);
    return unavailable(reason);
  }

  /** Opens the cooldown; true when it was not open already. */
  #trip(reason: string): boolean {
    const now = performance.now();
    const wasOpen = now < this.#openUntil;
    this.#lastError = reason;
    this.#openUntil = now + this.#options.cooldownMs;
    return !wasOpen;
  }
}

function unavailable(reason: string, cause?: unknown): TributaryError {
  return new TributaryError('SOURCE_UNAVAILABLE', reason, cause === undefined ? {} : { cause });
}

/** `promise`, or `onTimeout()`'s error once `deadline` passes; a late rejection is swallowed. */
function withDeadline<T>(promise: Promise<T>, deadline: number, onTimeout: () => Error): Promise<T> {
  promise.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), Math.max(0, deadline - performance.now()));
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
