import { FragmentError } from '../errors.js';

/** When a fragment had to be done, as `FragmentTask` tracks it (ms since the query started). */
export interface FragmentTimes {
  fragmentId: string;
  source: string;
  /** The highest attempt that started. */
  attempt: number;
  startedAt: number;
  /** Its own deadline or its budget's end, the earlier. */
  endAt: number;
  /** The fragment's own deadline (`deadlineMs`), if it has one. */
  deadlineMs: number | undefined;
  /** Its share of the query's deadline, when the query has one. */
  budgetMs: number | undefined;
  /** The query's deadline, when it has one. */
  queryDeadlineMs: number | undefined;
}

/**
 * The `TIMEOUT` of a required fragment that ran out of time, saying which limit it hit: its
 * own deadline, the query's deadline (its share was all the time left), or its share of the
 * query's deadline. `own` is true for its own deadline (else it counts as the query's).
 */
export function fragmentTimeout(t: FragmentTimes): { error: FragmentError; own: boolean } {
  const own = t.budgetMs === undefined || t.endAt < t.startedAt + t.budgetMs;
  const budget = Math.max(0, Math.round(t.budgetMs ?? 0));
  const queryDeadline = t.queryDeadlineMs;
  // A share that is all the time left ends with the query: say so the way the run does.
  const whole = queryDeadline !== undefined && t.endAt >= queryDeadline - 0.001;
  const message = own
    ? `fragment "${t.fragmentId}" passed its ${t.deadlineMs} ms deadline (all attempts included)`
    : whole
      ? `fragment "${t.fragmentId}" had not finished at the query's ${queryDeadline} ms deadline`
      : `fragment "${t.fragmentId}" ran out of its ${budget} ms share of the query's ${queryDeadline} ms deadline`;
  return { error: new FragmentError('TIMEOUT', message, { fragmentId: t.fragmentId, source: t.source, attempt: t.attempt, retryable: false }), own };
}
