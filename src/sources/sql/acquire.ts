/**
 * Waits for `acquire` (e.g. a pooled connection) unless `signal` aborts first, in which case
 * it rejects with `signal.reason` at once and hands a connection that arrives later to
 * `late` (to release it). The abort listener is removed either way.
 */
export function acquireOrAbort<T>(acquire: Promise<T>, signal: AbortSignal, late: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    acquire.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) late(value);
        else resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}
