import { Observable, concatMap, defer, retry, take, throwError, type Subscription } from 'rxjs';
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
  /** The calls may run twice: retried even when their source says they write. */
  idempotent: boolean;
}

export const defaultRetryPolicy: RetryPolicy = {
  attempts: 3,
  initialDelayMs: 50,
  maxDelayMs: 2000,
  factor: 2,
  jitter: 'full',
  idempotent: false,
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

/** The longest delay a Node.js timer can hold. */
const MAX_TIMER_MS = 2 ** 31 - 1;

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
  // The server's word: never earlier than it asked. `maxDelayMs` caps tributary's own backoff only.
  // A timer holds at most 2^31-1 ms (~24.8 days): Node fires a longer one (or Infinity) after 1 ms.
  if (retryAfterMs !== undefined && retryAfterMs > delay) delay = Math.min(retryAfterMs, MAX_TIMER_MS);
  return Math.round(delay);
}

/**
 * The tries after a first one that failed with `firstError`: `delayFor(error, retry)` decides
 * each time — an observable that errors ends it (not retryable, out of time, out of budget),
 * one that emits starts the next try — and RxJS's `retry` resubscribes, up to `maxAttempts`
 * tries in all. The first try is the caller's own: most calls never fail, and the
 * operator's subscriptions would cost more than the call's own bookkeeping.
 */
export function laterTries<T>(
  firstError: unknown,
  attempt: (n: number) => Observable<T>,
  delayFor: (error: unknown, retry: number) => Observable<unknown>,
  maxAttempts: number,
): Observable<T> {
  if (maxAttempts <= 1) return throwError(() => firstError);
  let n = 1;
  return delayFor(firstError, 1).pipe(
    take(1),
    concatMap(() => defer(() => attempt(++n)).pipe(retry({ count: maxAttempts - 2, delay: (e: unknown, retryCount: number) => delayFor(e, retryCount + 1) }))),
  );
}

/** Every try of one call, as one Observable: `attempt(1)`, then `laterTries` if it fails. */
export function retrying<T>(
  attempt: (n: number) => Observable<T>,
  delayFor: (error: unknown, retry: number) => Observable<unknown>,
  maxAttempts: number,
): Observable<T> {
  return new Observable<T>((subscriber) => {
    let later: Subscription | undefined;
    const first = attempt(1).subscribe({
      next: (value) => subscriber.next(value),
      complete: () => subscriber.complete(),
      error: (error: unknown) => {
        later = laterTries(error, attempt, delayFor, maxAttempts).subscribe(subscriber);
      },
    });
    return () => {
      first.unsubscribe();
      later?.unsubscribe();
    };
  });
}
