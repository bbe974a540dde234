import type { ExecuteContext } from '../source.js';
import { AbortWatch } from './abort-watch.js';

/**
 * Waits for `acquire` (e.g. a pooled connection) unless the call aborts first, in which
 * case it rejects with the abort reason and hands a connection that arrives later to
 * `late` (to release it). The abort is watched without creating the call's signal
 * (sql/abort-watch.ts).
 */
export function acquireOrAbort<T>(acquire: Promise<T>, ctx: ExecuteContext, late: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let aborted = false;
    const watch = new AbortWatch(ctx, (reason) => {
      aborted = true;
      reject(reason as Error);
    });
    acquire.then(
      (value) => {
        watch.stop();
        if (aborted) late(value);
        else resolve(value);
      },
      (error: unknown) => {
        watch.stop();
        reject(error as Error);
      },
    );
  });
}
