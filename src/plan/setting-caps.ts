import type { ErrorIssue } from '../errors.js';
import type { PlanLimits } from './limits.js';
import type { Plan } from './schema.js';

/** The settings a plan or fragment may ask for that the executor's `limits` cap, by the limit that caps each. */
const CAPPED = [
  { limit: 'maxTimeoutMs', of: (s: Settings) => s.timeoutMs, key: 'timeoutMs' },
  { limit: 'maxDeadlineMs', of: (s: Settings) => s.deadlineMs, key: 'deadlineMs' },
  { limit: 'maxDeadlineMs', of: (s: Settings) => s.fragmentDeadlineMs, key: 'fragmentDeadlineMs' },
  { limit: 'maxAttempts', of: (s: Settings) => s.retry?.attempts, key: 'retry.attempts' },
] as const;

type Settings = Pick<Plan, 'timeoutMs' | 'deadlineMs' | 'fragmentDeadlineMs' | 'retry'>;

/**
 * A plan may come from a less-trusted caller than its executor: the timeouts, deadlines and
 * retry attempts it asks for (its own and its fragments') are held to the executor's
 * `limits.maxTimeoutMs`, `maxDeadlineMs` and `maxAttempts`, as its size is. One over its limit
 * is an issue at its path (`fragments[1].timeoutMs`); none is clamped behind the caller's back.
 */
export function settingCapIssues(plan: Plan, limits: PlanLimits): ErrorIssue[] {
  const issues: ErrorIssue[] = [];
  const check = (settings: Settings, prefix: string): void => {
    for (const { limit, of, key } of CAPPED) {
      const cap = limits[limit];
      const asked = of(settings);
      if (cap !== undefined && asked !== undefined && asked > cap) issues.push({ path: `${prefix}${key}`, message: `${asked} is more than the executor allows a plan (limits.${limit}: ${cap})` });
    }
  };
  check(plan, '');
  plan.fragments.forEach((f, i) => check(f, `fragments[${i}].`));
  return issues;
}
