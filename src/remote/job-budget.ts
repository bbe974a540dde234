import { TributaryError } from '../errors.js';
import type { CallPayload } from './codec.js';

/**
 * What is left, on a worker, of a call's budget (`ExecuteContext.budgetMs`): the budget sent
 * minus the time since the coordinator made the call (the job's wait in the queue, mostly),
 * so the worker's limit ends at the same moment as the coordinator's. `undefined` when the
 * call had no budget. `sentAt` and `now` are both on Redis's clock (redis-clock.ts: each
 * process's `Date.now()` plus its measured offset to Redis `TIME`), so the coordinator's and
 * the worker's own clocks need not agree; a `now` before `sentAt` (the offsets' error) counts
 * no wait, never a negative one. @internal
 */
export function remainingBudgetMs(payload: Pick<CallPayload, 'budgetMs' | 'sentAt'>, now: number): number | undefined {
  const { budgetMs, sentAt } = payload;
  if (budgetMs === undefined || !Number.isFinite(budgetMs)) return undefined;
  const waited = sentAt === undefined || !Number.isFinite(sentAt) ? 0 : Math.max(0, now - sentAt);
  return budgetMs - waited;
}

/** The error of a job whose budget ran out (in the queue, or while its source ran). @internal */
export function budgetSpent(jobId: string, budgetMs: number, where: 'queue' | 'call'): TributaryError {
  const why = where === 'queue' ? 'ran out while it waited in the queue' : 'ran out while its source ran';
  return new TributaryError('TIMEOUT', `job ${jobId}'s budget of ${Math.round(budgetMs)} ms ${why}`, { retryable: true });
}
