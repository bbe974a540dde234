import type { ErrorIssue } from '../errors.js';
import { DEFAULT_MAX_EXTRA_RATIO } from '../execution/hedge.js';
import { backoffDelay, mergeRetry } from '../execution/retry.js';
import type { PlanLimits } from './limits.js';
import type { HedgeOptions, Plan, RetryOptionsInput } from './schema.js';

type Settings = Pick<Plan, 'timeoutMs' | 'deadlineMs' | 'fragmentDeadlineMs' | 'retry' | 'cache' | 'hedge'>;

/** The executor's own settings a plan's and its fragments' are layered over (the caps bound only what a plan adds). */
export interface ExecutorSettings {
  retry?: RetryOptionsInput;
  hedge?: HedgeOptions;
}

/** What a setting asks for; `defaulted` when the plan left it unset and so asks for its default. */
interface Asked {
  value: number;
  defaulted?: string;
}

const given = (value: number | undefined): Asked | undefined => (value === undefined ? undefined : { value });

/**
 * A `hedge` object turns hedging on; one without `maxExtraRatio` runs at the ratio of the
 * nearest layer above it (`above`: its plan's, then the executor's) that sets one, and asks
 * for nothing more: a plan's is checked at the plan, the executor's is its own word. A
 * `false` above it, or no hedging above it at all, leaves it the default ratio, which it then
 * asks for. An executor `hedge` that is on without a ratio runs at the default itself.
 * `false` asks for nothing (it turns hedging off).
 */
function hedgeRatio(own: HedgeOptions | undefined, above: readonly (HedgeOptions | undefined)[]): Asked | undefined {
  if (own === undefined || own === false) return undefined;
  if (own.maxExtraRatio !== undefined) return { value: own.maxExtraRatio };
  const defaulted = { value: DEFAULT_MAX_EXTRA_RATIO, defaulted: 'the default of a hedge that sets none' };
  for (const layer of above) {
    if (layer === undefined) continue;
    if (layer === false) return defaulted;
    if (layer.maxExtraRatio !== undefined) return undefined;
  }
  return above[above.length - 1] ? undefined : defaulted;
}

/** The settings a plan or fragment may ask for that the executor's `limits` cap, by the limit that caps each. */
const CAPPED = [
  { limit: 'maxTimeoutMs', of: (s: Settings) => given(s.timeoutMs), key: 'timeoutMs' },
  { limit: 'maxDeadlineMs', of: (s: Settings) => given(s.deadlineMs), key: 'deadlineMs' },
  { limit: 'maxDeadlineMs', of: (s: Settings) => given(s.fragmentDeadlineMs), key: 'fragmentDeadlineMs' },
  { limit: 'maxAttempts', of: (s: Settings) => given(s.retry?.attempts), key: 'retry.attempts' },
  { limit: 'maxRetryDelayMs', of: (s: Settings) => given(s.retry?.initialDelayMs), key: 'retry.initialDelayMs' },
  { limit: 'maxRetryDelayMs', of: (s: Settings) => given(s.retry?.maxDelayMs), key: 'retry.maxDelayMs' },
  { limit: 'maxCacheTtlMs', of: (s: Settings) => given(s.cache === false ? undefined : s.cache?.ttlMs), key: 'cache.ttlMs' },
  { limit: 'maxHedgeRatio', of: (s: Settings, above: readonly Settings[]) => hedgeRatio(s.hedge, above.map((a) => a.hedge)), key: 'hedge.maxExtraRatio' },
] as const;

/** The longest wait between two tries a retry policy makes (before jitter, which only shortens it). */
function longestBackoff(layers: readonly (RetryOptionsInput | undefined)[]): { delay: number; policy: ReturnType<typeof mergeRetry> } {
  const policy = mergeRetry(...layers);
  const delay = policy.attempts < 2 ? 0 : backoffDelay({ ...policy, jitter: 'none' }, policy.attempts - 1);
  return { delay, policy };
}

/**
 * A `factor`, `initialDelayMs` or `attempts` a plan sets grows its backoff up to the
 * `maxDelayMs` in force, which may be the executor's own and longer than `maxRetryDelayMs`
 * (`factor: 100` under the default 2000 ms would wait 2000 ms where `maxDelayMs: 2000` is
 * refused). So the longest backoff the merged policy makes is held to the limit too, unless
 * the executor's own policy already waits as long.
 */
function backoffIssue(retry: readonly (RetryOptionsInput | undefined)[], executor: RetryOptionsInput | undefined, cap: number | undefined, prefix: string): ErrorIssue | undefined {
  const own = retry[retry.length - 1];
  const key = own?.factor !== undefined ? 'factor' : own?.initialDelayMs !== undefined ? 'initialDelayMs' : own?.attempts !== undefined ? 'attempts' : undefined;
  if (cap === undefined || key === undefined) return undefined;
  const { delay, policy } = longestBackoff(retry);
  if (delay <= cap || delay <= longestBackoff([executor]).delay) return undefined;
  const { initialDelayMs, factor, attempts, maxDelayMs } = policy;
  return {
    path: `${prefix}retry.${key}`,
    message:
      `${own![key]} makes a backoff of ${delay} ms (initialDelayMs ${initialDelayMs}, factor ${factor}, ${attempts} attempts, maxDelayMs ${maxDelayMs}), ` +
      `more than the executor allows a plan (limits.maxRetryDelayMs: ${cap}); a retry.maxDelayMs within it bounds it`,
  };
}

/**
 * A plan may come from a less-trusted caller than its executor: the timeouts, deadlines,
 * retry attempts and delays, cache lifetimes and hedged extra calls it asks for (its own and
 * its fragments') are held to the executor's `limits.maxTimeoutMs`, `maxDeadlineMs`,
 * `maxAttempts`, `maxRetryDelayMs`, `maxCacheTtlMs` and `maxHedgeRatio`, as its size is, and
 * `limits.allowIdempotentHedge: false` / `allowIdempotentRetry: false` keep it from declaring its
 * calls safe to hedge / to retry when they write. What
 * is checked is the setting in force, layered over the `executor`'s own (a hedge without a
 * ratio under an executor's that sets one runs at that one). One over its limit is an issue
 * at its path (`fragments[1].timeoutMs`); none is clamped behind the caller's back.
 */
export function settingCapIssues(plan: Plan, limits: PlanLimits, executor: ExecutorSettings = {}): ErrorIssue[] {
  const issues: ErrorIssue[] = [];
  const check = (settings: Settings, prefix: string, above: readonly Settings[]): void => {
    const before = issues.length;
    for (const { limit, of, key } of CAPPED) {
      const cap = limits[limit];
      const asked = of(settings, above);
      if (cap === undefined || asked === undefined || asked.value <= cap) continue;
      const what = asked.defaulted === undefined ? `${asked.value}` : `${asked.value} (${asked.defaulted})`;
      issues.push({ path: `${prefix}${key}`, message: `${what} is more than the executor allows a plan (limits.${limit}: ${cap})` });
    }
    const retryAsked = issues.slice(before).some((i) => i.path.startsWith(`${prefix}retry.`));
    const backoff = retryAsked ? undefined : backoffIssue([...above.map((a) => a.retry).reverse(), settings.retry], executor.retry, limits.maxRetryDelayMs, prefix);
    if (backoff) issues.push(backoff);
    // hedge.idempotent lifts the retry rule for writes too (fragment-reports.ts refusedRetry),
    // so allowIdempotentRetry: false refuses it as well: else a plan got its POST retried after a 502.
    const hedgeIdempotent = settings.hedge !== undefined && settings.hedge !== false && settings.hedge.idempotent === true;
    if (hedgeIdempotent && (limits.allowIdempotentHedge === false || limits.allowIdempotentRetry === false)) {
      const limit = limits.allowIdempotentHedge === false ? 'allowIdempotentHedge' : 'allowIdempotentRetry';
      issues.push({ path: `${prefix}hedge.idempotent`, message: `a plan may not declare its calls safe to run twice (limits.${limit}: false)` });
    }
    if (limits.allowIdempotentRetry === false && settings.retry?.idempotent === true) {
      issues.push({ path: `${prefix}retry.idempotent`, message: 'a plan may not declare its calls safe to retry when they write (limits.allowIdempotentRetry: false)' });
    }
  };
  check(plan, '', [executor]);
  plan.fragments.forEach((f, i) => check(f, `fragments[${i}].`, [plan, executor]));
  return issues;
}
