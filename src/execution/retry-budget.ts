/**
 * A retry budget per source, a token bucket in the spirit of the AWS SDK's retry quota:
 * each retry spends tokens, each success earns some back. While a source keeps failing the
 * bucket drains and further failures are not retried at all, so a dead source is not
 * hammered by every fragment's retries at once.
 */
export interface RetryBudgetOptions {
  /** Tokens in a full bucket. Default 500. */
  capacity: number;
  /** Tokens one retry spends. Default 5. */
  retryCost: number;
  /** Tokens a retry after a timeout spends (timeouts are costlier to repeat). Default 10. */
  timeoutRetryCost: number;
  /** Tokens a first-try success earns back. Default 1. */
  successReward: number;
}

export const defaultRetryBudget: RetryBudgetOptions = { capacity: 500, retryCost: 5, timeoutRetryCost: 10, successReward: 1 };

export interface RetryBudget {
  /** Spends the cost of one retry; false (nothing spent) when the bucket cannot pay. */
  trySpend(afterTimeout: boolean): boolean;
  /** A success: a first-try success earns `successReward`, a success after retries refunds one retry's cost. */
  recordSuccess(retried: boolean): void;
  tokens(): number;
}

/** Creates a full bucket. */
export function createRetryBudget(options: Partial<RetryBudgetOptions> = {}): RetryBudget {
  const o = { ...defaultRetryBudget, ...options };
  let tokens = o.capacity;
  return {
    trySpend(afterTimeout) {
      const cost = afterTimeout ? o.timeoutRetryCost : o.retryCost;
      if (tokens < cost) return false;
      tokens -= cost;
      return true;
    },
    recordSuccess(retried) {
      tokens = Math.min(o.capacity, tokens + (retried ? o.retryCost : o.successReward));
    },
    tokens: () => tokens,
  };
}
