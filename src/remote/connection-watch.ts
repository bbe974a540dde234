import type { Redis } from 'ioredis';

/**
 * Calls `onLost` once `client` has been without Redis for `ms` (it closed and is not ready
 * again): a coordinator's calls whose jobs were running then fail, rather than wait for events
 * that a Redis restarted without its data will never send; a worker's running calls are
 * aborted, their locks lapsed. A blip shorter than `ms` changes nothing. Returns the stop.
 * @internal
 */
export function watchConnection(client: Redis, ms: number, onLost: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const down = (): void => {
    if (timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      onLost();
    }, ms);
    timer.unref?.();
  };
  const up = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  client.on('close', down);
  client.on('ready', up);
  return () => {
    up();
    client.off('close', down);
    client.off('ready', up);
  };
}
