import type { Redis } from 'ioredis';
import { settledWithin } from './settled-within.js';

/** A connection to Redis that closes gracefully or is cut: a BullMQ queue, queue events or worker, or an ioredis client (`asConnection`). */
export interface Connection {
  close(): Promise<unknown>;
  disconnect(): unknown;
}

export const asConnection = (client: Redis): Connection => ({ close: () => client.quit(), disconnect: () => client.disconnect() });

/**
 * Closes connections to one Redis without ever waiting for it to come back. While it answers
 * (`up`: the caller's own client is connected) each closes gracefully, for at most `ms`. Then
 * each is cut, whatever happened: a graceful close sends QUIT, which waits for a reconnect that
 * may never come (BullMQ's drops its error handlers first, so the client retried forever,
 * unhandled, holding the process). The cut is not waited for: on a client that lost Redis,
 * ioredis stops reconnecting but never says it ended (no `end`, the queued QUIT never
 * answered), and nothing is left to hold the process. Closing as well as disconnecting also
 * ends a BullMQ connection that was still being set up. @internal
 */
export async function closeConnections(items: readonly (Connection | undefined)[], up: boolean, ms: number): Promise<void> {
  const present = items.filter((c): c is Connection => c !== undefined);
  if (up) await settledWithin(Promise.allSettled(present.map((c) => c.close())), ms);
  for (const c of present) {
    Promise.resolve()
      .then(() => c.disconnect())
      .catch(() => undefined);
    Promise.resolve()
      .then(() => c.close())
      .catch(() => undefined);
  }
}
