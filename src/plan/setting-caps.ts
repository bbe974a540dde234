import type { ErrorIssue } from '../errors.js';
import { DEFAULT_MAX_EXTRA_RATIO } from '../execution/hedge.js';
import type { PlanLimits } from './limits.js';
import type { Plan } from './schema.js';

type Settings = Pick<Plan, 'timeoutMs' | 'deadlineMs' | 'fragmentDeadlineMs' | 'retry' | 'cache' | 'hedge'>;

/** What a setting asks for; `defaulted` when the plan left it unset and so asks for its default. */
interface Asked {
  value: number;
  defaulted?: string;
}

const given = (value: number | undefined): Asked | undefined => (value === undefined ? undefined : { value });

/**
 * A `hedge` object turns hedging on; one without `maxExtraRatio` takes the plan's (a fragment's,
 * under a plan `hedge` that sets it) or may run at the default ratio, so it asks for that.
 * `false` asks for nothing (it turns hedging off).
 */
function hedgeRatio(s: Settings, plan?: Settings): Asked | undefined {
  if (s.hedge === undefined || s.hedge === false) return undefined;
  if (s.hedge.maxExtraRatio !== undefined) return { value: s.hedge.maxExtraRatio };
  const inherited = plan?.hedge === false ? undefined : plan?.hedge?.maxExtraRatio;
  return inherited === undefined ? { value: DEFAULT_MAX_EXTRA_RATIO, defaulted: 'the default of a hedge that sets none' } : undefined;
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
  { limit: 'maxHedgeRatio', of: hedgeRatio, key: 'hedge.maxExtraRatio' },
] as const;

/**
 * A plan may come from a less-trusted caller than its executor: the timeouts, deadlines,
 * retry attempts and delays, cache lifetimes and hedged extra calls it asks for (its own and
 * its fragments') are held to the executor's `limits.maxTimeoutMs`, `maxDeadlineMs`,
 * `maxAttempts`, `maxRetryDelayMs`, `maxCacheTtlMs` and `maxHedgeRatio`, as its size is. One
 * over its limit is an issue at its path (`fragments[1].timeoutMs`); none is clamped behind
 * the caller's back.
 */
export function settingCapIssues(plan: Plan, limits: PlanLimits): ErrorIssue[] {
  const issues: ErrorIssue[] = [];
  const check = (settings: Settings, prefix: string, plan?: Settings): void => {
    for (const { limit, of, key } of CAPPED) {
      const cap = limits[limit];
      const asked = of(settings, plan);
      if (cap === undefined || asked === undefined || asked.value <= cap) continue;
      const what = asked.defaulted === undefined ? `${asked.value}` : `${asked.value} (${asked.defaulted})`;
      issues.push({ path: `${prefix}${key}`, message: `${what} is more than the executor allows a plan (limits.${limit}: ${cap})` });
    }
  };
  check(plan, '');
  plan.fragments.forEach((f, i) => check(f, `fragments[${i}].`, plan));
  return issues;
}
