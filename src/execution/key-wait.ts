import type { Clock } from './clock.js';

/**
 * A fragment's wait for its cache key while its source's `version()` is still answering,
 * bounded by the fragment's per-attempt timeout on the executor's clock. A version that
 * never answers (a custom source's lookup that hangs, a MySQL `SELECT VERSION()` queued
 * behind statements holding every pooled connection) held the fragment past every timeout
 * before any attempt began: now, when it is late, the fragment bypasses the cache for this
 * run (`late`) and calls its source under its usual timeout. Returns what ends the wait
 * (the fragment was stopped): the timer goes, and a late answer is ignored.
 */
export function waitForKey(
  key: Promise<string | undefined>,
  clock: Clock,
  timeoutMs: number,
  on: { key(key: string | undefined): void; late(): void; failed(error: unknown): void },
): () => void {
  let done = false;
  const timer = Number.isFinite(timeoutMs)
    ? clock.setTimeout(() => {
        if (done) return;
        done = true;
        on.late();
      }, timeoutMs)
    : undefined;
  const end = (): boolean => {
    if (done) return false;
    done = true;
    if (timer !== undefined) clock.clearTimeout(timer);
    return true;
  };
  key.then(
    (k) => void (end() && on.key(k)),
    (error: unknown) => void (end() && on.failed(error)),
  );
  return () => void end();
}
