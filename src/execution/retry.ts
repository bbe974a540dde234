import { Observable, concatMap, defer, retry, take, type Subscription } from 'rxjs';
import type { z } from 'zod';
import type { jitterSchema} from '../plan/schema.js';
import { type RetryOptionsInput } from '../plan/schema.js';

/** A complete retry policy (every field set). */
export interface RetryPolicy {
  /** Total tries, the first included; 1 means no retry. */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  factor: number;
  /** `full`: uniform in [0, d]; `equal`: d/2 + uniform in [0, d/2]; `none`: d. */
  jitter: z.infer<typeof jitterSchema>;
}

export const defaultRetryPolicy: RetryPolicy = {
  attempts: 3,
  initialDelayMs: 50,
  maxDelayMs: 2000,
  factor: 2,
  jitter: 'full',
};

/** Layers partial policies (executor, then plan, then fragment) over the defaults. */
export function mergeRetry(...layers: (RetryOptionsInput | undefined)[]): RetryPolicy {
  let out = { ...defaultRetryPolicy };
  for (const layer of layers) {
    if (!layer) continue;
    const defined = Object.fromEntries(Object.entries(layer).filter(([, v]) => v !== undefined));
    out = { ...out, ...defined };
  }
  return out;
}

/**
 * The delay before retry number `retry` (1 for the first retry): exponential, capped at
 * `maxDelayMs`, with jitter so that many clients failing together do not retry together.
 * A server's `Retry-After` is honoured, within `maxDelayMs`.
 */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random, retryAfterMs?: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** Math.max(0, retry - 1));
  let delay: number;
  switch (policy.jitter) {
    case 'full':
      delay = random() * ceiling;
      break;
    case 'equal':
      delay = ceiling / 2 + (random() * ceiling) / 2;
      break;
    case 'none':
      delay = ceiling;
      break;
    default:
      delay = policy.jitter satisfies never;
  }
  if (retryAfterMs !== undefined && retryAfterMs > delay) delay = Math.min(retryAfterMs, policy.maxDelayMs);
  return Math.round(delay);
}

/**
 * Subscribes to `attempt(1)`; when it fails, `delayFor(error, 1)` decides: an observable
 * that errors ends it (not retryable, out of time, out of budget), one that emits starts
 * the next try. From the second try on it is RxJS's `retry` with that delay notifier, up to
 * `maxAttempts` tries in all. The first try pays for no retry machinery: most calls never
 * fail, and the operator's subscription costs more than the call's own bookkeeping.
 */
export function retrying<T>(
  attempt: (n: number) => Observable<T>,
  delayFor: (error: unknown, retry: number) => Observable<unknown>,
  maxAttempts: number,
): Observable<T> {
  return new Observable<T>((subscriber) => {
    let n = 1;
    let later: Subscription | undefined;
    const first = attempt(1).subscribe({
      next: (value) => subscriber.next(value),
      complete: () => subscriber.complete(),
      error: (error: unknown) => {
        if (maxAttempts <= 1) {
          subscriber.error(error);
          return;
        }
        later = delayFor(error, 1)
          .pipe(
            take(1),
            concatMap(() =>
              defer(() => attempt(++n)).pipe(retry({ count: maxAttempts - 2, delay: (e: unknown, retryCount: number) => delayFor(e, retryCount + 1) })),
            ),
          )
          .subscribe(subscriber);
      },
    });
    return () => {
      first.unsubscribe();
      later?.unsubscribe();
    };
  });
}
